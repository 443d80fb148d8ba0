"""Bedrock errors mapped to the one exception tree, through one table.

Bedrock names an error in three places: the ``x-amzn-ErrorType`` header of an HTTP error
(``ThrottlingException:http://internal.amazon.com/coral/...``), the JSON body (``__type``,
``code`` or ``Code``), and, after a stream has begun, the ``:exception-type`` header of an
exception frame, in lowerCamel case (``throttlingException``). :func:`error_key` folds all
three spellings to one key, and :data:`ERROR_TABLE` maps that key to a rule.

Messages never carry credentials: Bedrock's own text is passed on only where it helps the caller
(validation errors, for instance), with access-key ids and IAM/STS ARNs redacted, and never for
the front-door authentication errors (their text may quote the canonical request).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import assert_never

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

__all__ = [
    "ERROR_TABLE",
    "THROTTLE_RETRY_AFTER_SECONDS",
    "ErrorKind",
    "ErrorRule",
    "code_from_response",
    "error_key",
    "map_bedrock_error",
    "redact",
]

# Bedrock sends no Retry-After; a throttled caller is told to wait this long.
THROTTLE_RETRY_AFTER_SECONDS = 3.0


class ErrorKind(enum.Enum):
    THROTTLED = "throttled"
    ACCESS_DENIED = "access_denied"
    INVALID_REQUEST = "invalid_request"
    NOT_FOUND = "not_found"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    UNAVAILABLE = "unavailable"
    CREDENTIALS_REFUSED = "credentials_refused"


@dataclass(slots=True, frozen=True)
class ErrorRule:
    kind: ErrorKind
    code: str  # the canonical (UpperCamel) Bedrock code, reported as the error's ``code``


def _rules(*rules: tuple[str, ErrorKind]) -> Mapping[str, ErrorRule]:
    return MappingProxyType({error_key(code): ErrorRule(kind, code) for code, kind in rules})


def error_key(code: str) -> str:
    """Fold any spelling of a Bedrock error code to the table's key.

    ``ThrottlingException:http://...``, ``com.amazon.coral#ThrottlingException``,
    ``throttlingException`` and ``Throttling`` all become ``"throttling"``.
    """
    name = code.split(":", 1)[0].rsplit("#", 1)[-1].strip().lower()
    return name.removesuffix("exception") or name


# The one table. Codes are as AWS documents them; lookups go through :func:`error_key`.
ERROR_TABLE: Mapping[str, ErrorRule] = _rules(
    ("ThrottlingException", ErrorKind.THROTTLED),
    ("ModelNotReadyException", ErrorKind.THROTTLED),
    ("TooManyRequestsException", ErrorKind.THROTTLED),
    ("AccessDeniedException", ErrorKind.ACCESS_DENIED),
    ("ValidationException", ErrorKind.INVALID_REQUEST),
    ("ServiceQuotaExceededException", ErrorKind.INVALID_REQUEST),
    ("ResourceNotFoundException", ErrorKind.NOT_FOUND),
    ("ModelTimeoutException", ErrorKind.TIMEOUT),
    ("InternalServerException", ErrorKind.SERVER_ERROR),
    ("InternalFailure", ErrorKind.SERVER_ERROR),
    ("ModelErrorException", ErrorKind.SERVER_ERROR),
    ("ModelStreamErrorException", ErrorKind.SERVER_ERROR),
    ("ServiceUnavailableException", ErrorKind.UNAVAILABLE),
    ("InvalidSignatureException", ErrorKind.CREDENTIALS_REFUSED),
    ("SignatureDoesNotMatch", ErrorKind.CREDENTIALS_REFUSED),
    ("UnrecognizedClientException", ErrorKind.CREDENTIALS_REFUSED),
    ("InvalidClientTokenId", ErrorKind.CREDENTIALS_REFUSED),
    ("ExpiredTokenException", ErrorKind.CREDENTIALS_REFUSED),
    ("IncompleteSignature", ErrorKind.CREDENTIALS_REFUSED),
    ("MissingAuthenticationTokenException", ErrorKind.CREDENTIALS_REFUSED),
)

# When a response names no code at all (a proxy's HTML error page, say), the status decides.
_STATUS_KINDS: Mapping[int, ErrorKind] = MappingProxyType(
    {
        400: ErrorKind.INVALID_REQUEST,
        404: ErrorKind.NOT_FOUND,
        408: ErrorKind.TIMEOUT,
        429: ErrorKind.THROTTLED,
        503: ErrorKind.UNAVAILABLE,
        504: ErrorKind.TIMEOUT,
    }
)

_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b")
_IAM_ARN = re.compile(r"\barn:aws[\w-]*:(?:iam|sts)::\d{12}:\S+")
_SIGNATURE = re.compile(r"Signature=[0-9a-f]{16,}")


def redact(text: str) -> str:
    """Remove access-key ids, IAM/STS principal ARNs and signatures from upstream text."""
    text = _ACCESS_KEY_ID.sub("[redacted-key-id]", text)
    text = _IAM_ARN.sub("[redacted-principal]", text)
    return _SIGNATURE.sub("Signature=[redacted]", text)


def code_from_response(headers: Mapping[str, str], body: object) -> str | None:
    """The error code of an HTTP error response, as botocore finds it: the ``x-amzn-ErrorType``
    header first, then the body's ``__type``, ``code`` or ``Code``."""
    header = headers.get("x-amzn-ErrorType") or headers.get("x-amzn-errortype")
    if header:
        return header.split(":", 1)[0].rsplit("#", 1)[-1]
    if isinstance(body, dict):
        for member in ("__type", "code", "Code"):
            value = body.get(member)
            if isinstance(value, str) and value:
                return value.split(":", 1)[0].rsplit("#", 1)[-1]
    return None


def map_bedrock_error(
    code: str | None,
    message: str | None,
    *,
    model_id: str,
    deployment_id: str,
    status: int | None = None,
    retry_after: float | None = None,
) -> UpstreamError:
    """Map one Bedrock error (HTTP or mid-stream) to the exception tree.

    ``code`` may be any spelling (see :func:`error_key`); ``None`` falls back to ``status``.
    ``retry_after`` is a Retry-After the response carried, if any.
    """
    rule = ERROR_TABLE.get(error_key(code)) if code else None
    text = redact(message.strip()) if message and message.strip() else None
    if rule is not None:
        return _build(rule.kind, rule.code, text, model_id, deployment_id, retry_after)
    detail = f": {text}" if text else ""
    if code is not None:
        return UpstreamServerError(
            f"Bedrock returned an unknown error ({code}) for model {model_id}{detail}", code=code
        )
    kind = _STATUS_KINDS.get(status) if status is not None else None
    if kind is None:
        return UpstreamServerError(
            f"Bedrock returned an unexpected error (HTTP {status}) for model {model_id}{detail}"
        )
    return _build(kind, None, text, model_id, deployment_id, retry_after)


def _build(
    kind: ErrorKind,
    code: str | None,
    text: str | None,
    model_id: str,
    deployment_id: str,
    retry_after: float | None,
) -> UpstreamError:
    detail = f": {text}" if text else ""
    label = f" ({code})" if code else ""
    match kind:
        case ErrorKind.THROTTLED:
            return UpstreamThrottled(
                f"Bedrock is throttling requests to model {model_id}{detail}",
                code=code,
                retry_after=THROTTLE_RETRY_AFTER_SECONDS if retry_after is None else retry_after,
            )
        case ErrorKind.ACCESS_DENIED:
            return UpstreamAccessDenied(
                f"Model access is not granted for model {model_id} in the AWS account behind "
                f"deployment {deployment_id}{detail}",
                code=code,
            )
        case ErrorKind.INVALID_REQUEST:
            return UpstreamInvalidRequest(
                f"Bedrock rejected the request for model {model_id}{detail}", code=code
            )
        case ErrorKind.NOT_FOUND:
            return UpstreamNotFound(
                f"Bedrock could not find the resource for model {model_id}{detail}", code=code
            )
        case ErrorKind.TIMEOUT:
            return UpstreamTimeout(f"Model {model_id} timed out on Bedrock{detail}", code=code)
        case ErrorKind.SERVER_ERROR:
            return UpstreamServerError(
                f"Bedrock failed while serving model {model_id}{label}{detail}", code=code
            )
        case ErrorKind.UNAVAILABLE:
            return UpstreamUnavailable(
                f"Bedrock is unavailable for model {model_id}{detail}", code=code
            )
        case ErrorKind.CREDENTIALS_REFUSED:
            # Bedrock's text is dropped on purpose: it may quote the signed request.
            return UpstreamServerError(
                f"Bedrock refused the gateway's AWS credentials{label} for deployment "
                f"{deployment_id}; the gateway's AWS configuration must be fixed, this is not "
                "the caller's fault",
                code=code,
            )
        case _:
            assert_never(kind)
