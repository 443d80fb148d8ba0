"""Who may call the emulator: SigV4 against the configured key pair, or a Bearer token.

Failures are answered as Bedrock's front door answers them:

- no ``Authorization`` header: 403 ``MissingAuthenticationTokenException``;
- a malformed ``AWS4-HMAC-SHA256`` header or a missing/unparseable ``X-Amz-Date``:
  400 ``IncompleteSignature``;
- an unknown access key id, or a Bearer token that is not the configured one:
  403 ``UnrecognizedClientException``;
- a wrong scope (service other than ``bedrock``, another region when one is pinned), a date
  outside the +/-15 minute window, an unsigned ``host`` or a signature mismatch:
  403 ``InvalidSignatureException``.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from stargate.emulator.config import EmulatorConfig
from stargate.emulator.errors import BedrockError
from stargate.emulator.sigv4 import (
    ALGORITHM,
    AuthorizationHeader,
    ReceivedRequest,
    compute_signature,
    parse_authorization,
)

__all__ = ["MAX_CLOCK_SKEW", "SIGNING_SERVICE", "authenticate"]

SIGNING_SERVICE = "bedrock"
"""Bedrock Runtime's signing name (not ``bedrock-runtime``)."""

MAX_CLOCK_SKEW = timedelta(minutes=15)

_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_INVALID_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_UNRECOGNIZED_CLIENT = "The security token included in the request is invalid."


def _invalid_signature(message: str) -> BedrockError:
    return BedrockError("InvalidSignatureException", 403, message)


def _incomplete(message: str) -> BedrockError:
    return BedrockError("IncompleteSignature", 400, message)


def _unrecognized() -> BedrockError:
    return BedrockError("UnrecognizedClientException", 403, _UNRECOGNIZED_CLIENT)


def authenticate(config: EmulatorConfig, request: ReceivedRequest, now: datetime) -> None:
    """Raise :class:`BedrockError` unless ``request`` carries valid credentials.

    ``now`` is an aware UTC datetime (injected so the skew window is testable).
    """
    if not config.verify_signatures:
        return
    authorization = request.headers.get("authorization", "")
    if not authorization:
        raise BedrockError(
            "MissingAuthenticationTokenException", 403, "Authorization header is missing"
        )
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer":
        _check_bearer(config, credential.strip())
        return
    if scheme != ALGORITHM:
        raise _incomplete(
            f"Authorization header requires '{ALGORITHM}' as its algorithm. Authorization={scheme}"
        )
    _check_sigv4(config, request, authorization, now)


def _check_bearer(config: EmulatorConfig, token: str) -> None:
    expected = config.bearer_token
    if expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise _unrecognized()


def _parse(authorization: str, request: ReceivedRequest) -> tuple[AuthorizationHeader, str]:
    parsed = parse_authorization(authorization)
    amz_date = request.headers.get("x-amz-date", "")
    messages: list[str] = []
    if not isinstance(parsed, AuthorizationHeader):
        messages.extend(f"Authorization header requires '{name}' parameter." for name in parsed)
    if not amz_date:
        messages.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if messages or not isinstance(parsed, AuthorizationHeader):
        raise _incomplete(" ".join([*messages, f"Authorization={authorization}"]))
    return parsed, amz_date


def _check_sigv4(
    config: EmulatorConfig, request: ReceivedRequest, authorization: str, now: datetime
) -> None:
    auth, amz_date = _parse(authorization, request)
    if not hmac.compare_digest(auth.access_key_id.encode(), config.access_key_id.encode()):
        raise _unrecognized()
    if auth.scope_terminator != "aws4_request":
        raise _invalid_signature(
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{auth.scope_terminator}'."
        )
    if auth.scope_service != SIGNING_SERVICE:
        raise _invalid_signature(
            f"Credential should be scoped to correct service: '{SIGNING_SERVICE}'."
        )
    if config.region is not None and auth.scope_region != config.region:
        raise _invalid_signature(
            f"Credential should be scoped to a valid region, not '{auth.scope_region}'."
        )
    try:
        signed_at = datetime.strptime(amz_date, _AMZ_DATE_FORMAT).replace(tzinfo=now.tzinfo)
    except ValueError:
        raise _incomplete(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.") from None
    if auth.scope_date != amz_date[:8]:
        raise _invalid_signature(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{auth.scope_date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    _check_skew(signed_at, now)
    if "host" not in auth.signed_headers:
        raise _invalid_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    expected = compute_signature(request, auth, amz_date, config.secret_access_key)
    if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
        raise _invalid_signature(_INVALID_SIGNATURE)


def _check_skew(signed_at: datetime, now: datetime) -> None:
    stamp = signed_at.strftime(_AMZ_DATE_FORMAT)
    if signed_at < now - MAX_CLOCK_SKEW:
        limit = (now - MAX_CLOCK_SKEW).strftime(_AMZ_DATE_FORMAT)
        raise _invalid_signature(
            f"Signature expired: {stamp} is now earlier than {limit} "
            f"({now.strftime(_AMZ_DATE_FORMAT)} - 15 min.)"
        )
    if signed_at > now + MAX_CLOCK_SKEW:
        limit = (now + MAX_CLOCK_SKEW).strftime(_AMZ_DATE_FORMAT)
        raise _invalid_signature(
            f"Signature not yet current: {stamp} is still later than {limit} "
            f"({now.strftime(_AMZ_DATE_FORMAT)} + 15 min.)"
        )
