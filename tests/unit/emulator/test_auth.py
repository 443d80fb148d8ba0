"""SigV4 and Bearer verification: signatures made by botocore pass, everything else fails right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stargate.emulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, EmulatorConfig
from stargate.emulator.auth import authenticate
from stargate.emulator.errors import BedrockError
from stargate.emulator.sigv4 import ReceivedRequest, parse_authorization, received_request

CONFIG = EmulatorConfig(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, bearer_token="tok-123")
HOST = "127.0.0.1:8123"
ENCODED_PATH = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
BODY = b'{"messages":[{"role":"user","content":[{"text":"hi"}]}]}'


def signed(
    path: str = ENCODED_PATH,
    *,
    secret: str = TEST_SECRET_ACCESS_KEY,
    key_id: str = TEST_ACCESS_KEY_ID,
    region: str = "us-east-1",
    service: str = "bedrock",
    body: bytes = BODY,
) -> ReceivedRequest:
    url = f"http://{HOST}{path}"
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials(key_id, secret), service, region).add_auth(request)
    headers = [("Host", HOST), *request.headers.items()]
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return received_request("POST", target, headers, body)


def now() -> datetime:
    return datetime.now(UTC)


def error_of(
    request: ReceivedRequest, config: EmulatorConfig = CONFIG, at: datetime | None = None
) -> BedrockError:
    with pytest.raises(BedrockError) as caught:
        authenticate(config, request, at or now())
    return caught.value


@pytest.mark.parametrize(
    "path",
    [
        ENCODED_PATH,
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/converse",
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.amazon.nova-micro-v1%3A0/converse-stream",
        "/model/amazon.nova-micro-v1:0/converse?b=2&a=1",
    ],
)
def test_botocore_signatures_verify_over_the_raw_path(path: str) -> None:
    authenticate(CONFIG, signed(path), now())


def test_the_path_re_encoded_after_signing_is_an_invalid_signature() -> None:
    request = signed(ENCODED_PATH)
    decoded = ReceivedRequest(
        request.method,
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/converse",
        "",
        request.headers,
        request.body,
    )

    error = error_of(decoded)

    assert (error.code, error.status) == ("InvalidSignatureException", 403)
    assert error.message.startswith("The request signature we calculated does not match")


def test_a_wrong_secret_is_an_invalid_signature() -> None:
    error = error_of(signed(secret="not-the-secret"))

    assert (error.code, error.status) == ("InvalidSignatureException", 403)


def test_a_changed_body_is_an_invalid_signature() -> None:
    request = signed()
    tampered = ReceivedRequest(request.method, request.raw_path, "", request.headers, b"{}")

    assert error_of(tampered).code == "InvalidSignatureException"


def test_an_unknown_access_key_is_an_unrecognized_client() -> None:
    error = error_of(signed(key_id="AKIDOTHER"))

    assert (error.code, error.status) == ("UnrecognizedClientException", 403)
    assert error.message == "The security token included in the request is invalid."


def test_a_signature_for_another_service_is_refused() -> None:
    error = error_of(signed(service="bedrock-runtime"))

    assert error.code == "InvalidSignatureException"
    assert "correct service: 'bedrock'" in error.message


def test_a_pinned_region_refuses_other_regions_and_accepts_its_own() -> None:
    pinned = EmulatorConfig(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, region="us-west-2")

    authenticate(pinned, signed(region="us-west-2"), now())
    error = error_of(signed(region="us-east-1"), pinned)

    assert error.code == "InvalidSignatureException"
    assert "us-east-1" in error.message


@pytest.mark.parametrize(
    ("shift", "phrase"),
    [(timedelta(minutes=16), "Signature expired"), (timedelta(minutes=-16), "not yet current")],
)
def test_signatures_outside_fifteen_minutes_are_refused(shift: timedelta, phrase: str) -> None:
    error = error_of(signed(), at=now() + shift)

    assert (error.code, error.status) == ("InvalidSignatureException", 403)
    assert phrase in error.message


def test_signatures_within_fifteen_minutes_are_accepted() -> None:
    authenticate(CONFIG, signed(), now() + timedelta(minutes=14))
    authenticate(CONFIG, signed(), now() - timedelta(minutes=14))


def test_a_malformed_authorization_header_is_an_incomplete_signature() -> None:
    request = signed()
    headers = dict(request.headers)
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={TEST_ACCESS_KEY_ID}/20250101/us-east-1/bedrock/aws4_request"
    )
    broken = ReceivedRequest("POST", request.raw_path, "", headers, request.body)

    error = error_of(broken)

    assert (error.code, error.status) == ("IncompleteSignature", 400)
    assert "'Signature'" in error.message
    assert "'SignedHeaders'" in error.message


def test_a_missing_amz_date_is_an_incomplete_signature() -> None:
    request = signed()
    headers = {k: v for k, v in request.headers.items() if k != "x-amz-date"}

    error = error_of(ReceivedRequest("POST", request.raw_path, "", headers, request.body))

    assert error.code == "IncompleteSignature"
    assert "X-Amz-Date" in error.message


def test_a_missing_authorization_header_is_refused() -> None:
    error = error_of(ReceivedRequest("POST", ENCODED_PATH, "", {}, BODY))

    assert error.status == 403
    assert error.code == "MissingAuthenticationTokenException"


def test_the_configured_bearer_token_is_accepted_and_others_are_not() -> None:
    good = ReceivedRequest("POST", ENCODED_PATH, "", {"authorization": "Bearer tok-123"}, BODY)
    bad = ReceivedRequest("POST", ENCODED_PATH, "", {"authorization": "Bearer nope"}, BODY)

    authenticate(CONFIG, good, now())
    assert error_of(bad).code == "UnrecognizedClientException"


def test_a_bearer_token_is_refused_when_none_is_configured() -> None:
    request = ReceivedRequest("POST", ENCODED_PATH, "", {"authorization": "Bearer tok-123"}, BODY)

    assert error_of(request, EmulatorConfig("A", "B")).code == "UnrecognizedClientException"


def test_verification_can_be_turned_off() -> None:
    config = EmulatorConfig("A", "B", verify_signatures=False)

    authenticate(config, ReceivedRequest("POST", ENCODED_PATH, "", {}, BODY), now())
    authenticate(config, signed(secret="whatever"), now())


def test_a_signed_unsigned_payload_declaration_skips_the_body_hash() -> None:
    url = f"http://{HOST}{ENCODED_PATH}"
    request = AWSRequest(
        method="POST",
        url=url,
        data=BODY,
        headers={"Content-Type": "application/json", "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    SigV4Auth(
        Credentials(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY), "bedrock", "us-east-1"
    ).add_auth(request)
    headers = [("Host", HOST), *request.headers.items()]

    authenticate(CONFIG, received_request("POST", ENCODED_PATH, headers, b"other body"), now())


def test_header_values_are_canonicalised_and_repeats_joined() -> None:
    request = received_request("GET", "/p?q=1", [("X-Thing", "  a   b "), ("x-thing", "c")], b"")

    assert request.headers["x-thing"] == "a b,c"
    assert (request.raw_path, request.raw_query) == ("/p", "q=1")


def test_authorization_parsing_reports_every_missing_part() -> None:
    assert parse_authorization("AWS4-HMAC-SHA256 Credential=a/b") == [
        "Signature",
        "SignedHeaders",
        "Credential",
    ]
