from __future__ import annotations

import pytest

from stargate.errors import (
    UpstreamAccessDenied,
    UpstreamError,
    UpstreamInvalidRequest,
    UpstreamNotFound,
    UpstreamServerError,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from stargate.providers.bedrock.errors import (
    THROTTLE_RETRY_AFTER_SECONDS,
    code_from_response,
    error_key,
    map_bedrock_error,
    redact,
)

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def mapped(
    code: str | None, message: str | None = "upstream says no", **kw: object
) -> UpstreamError:
    return map_bedrock_error(code, message, model_id=MODEL, deployment_id="dep-1", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "cls", "status"),
    [
        ("ThrottlingException", UpstreamThrottled, 429),
        ("ModelNotReadyException", UpstreamThrottled, 429),
        ("AccessDeniedException", UpstreamAccessDenied, 403),
        ("ValidationException", UpstreamInvalidRequest, 400),
        ("ServiceQuotaExceededException", UpstreamInvalidRequest, 400),
        ("ResourceNotFoundException", UpstreamNotFound, 404),
        ("ModelTimeoutException", UpstreamTimeout, 504),
        ("InternalServerException", UpstreamServerError, 502),
        ("ModelErrorException", UpstreamServerError, 502),
        ("ModelStreamErrorException", UpstreamServerError, 502),
        ("ServiceUnavailableException", UpstreamUnavailable, 503),
        ("InvalidSignatureException", UpstreamServerError, 502),
        ("UnrecognizedClientException", UpstreamServerError, 502),
        ("ExpiredTokenException", UpstreamServerError, 502),
        ("IncompleteSignature", UpstreamServerError, 502),
    ],
)
def test_every_documented_code_maps(code: str, cls: type[UpstreamError], status: int) -> None:
    error = mapped(code)
    assert type(error) is cls
    assert error.status == status
    assert error.code == code


@pytest.mark.parametrize(
    "spelling",
    [
        "throttlingException",  # mid-stream :exception-type
        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        "com.amazon.coral.service#ThrottlingException",
        "Throttling",
    ],
)
def test_every_spelling_of_a_code_finds_the_same_rule(spelling: str) -> None:
    assert error_key(spelling) == "throttling"
    assert isinstance(mapped(spelling), UpstreamThrottled)


def test_throttling_carries_a_retry_after_hint() -> None:
    assert mapped("ThrottlingException").retry_after == THROTTLE_RETRY_AFTER_SECONDS
    assert 1 <= THROTTLE_RETRY_AFTER_SECONDS <= 10
    assert mapped("ThrottlingException", retry_after=7.0).retry_after == 7.0


def test_access_denied_says_model_access_is_not_granted_and_names_the_model() -> None:
    error = mapped("AccessDeniedException", "You don't have access to the model.")
    assert "Model access is not granted" in error.message
    assert MODEL in error.message


def test_validation_passes_bedrocks_message() -> None:
    error = mapped("ValidationException", "Input is too long for requested model.")
    assert "Input is too long for requested model." in error.message


def test_credential_errors_blame_the_gateway_and_drop_upstream_text() -> None:
    error = mapped(
        "InvalidSignatureException",
        "The Canonical String for this request should have been 'x-amz-security-token:SECRET'",
    )
    assert "gateway's AWS credentials" in error.message
    assert "not the caller's fault" in error.message
    assert "SECRET" not in error.message
    assert error.status == 502


def test_unknown_code_is_a_server_error_naming_the_code() -> None:
    error = mapped("BrandNewException", "what")
    assert type(error) is UpstreamServerError
    assert "BrandNewException" in error.message


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, UpstreamInvalidRequest),
        (404, UpstreamNotFound),
        (429, UpstreamThrottled),
        (503, UpstreamUnavailable),
        (504, UpstreamTimeout),
        (500, UpstreamServerError),
        (418, UpstreamServerError),
    ],
)
def test_without_a_code_the_status_decides(status: int, cls: type[UpstreamError]) -> None:
    assert type(mapped(None, None, status=status)) is cls


def test_messages_never_carry_key_ids_or_principals() -> None:
    error = mapped(
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/gw/i-1 with key AKIAIOSFODNN7EXAMPLE "
        "is not authorized",
    )
    assert "AKIAIOSFODNN7EXAMPLE" not in error.message
    assert "123456789012" not in error.message
    assert redact("Signature=" + "a" * 64) == "Signature=[redacted]"


def test_code_from_response_prefers_the_header_then_the_body() -> None:
    header = {"x-amzn-ErrorType": "ValidationException:http://internal.amazon.com/coral/"}
    assert code_from_response(header, {"__type": "Other"}) == "ValidationException"
    assert code_from_response({}, {"__type": "com.amazon#ThrottlingException"}) == (
        "ThrottlingException"
    )
    assert code_from_response({}, {"code": "AccessDeniedException"}) == "AccessDeniedException"
    assert code_from_response({}, None) is None
