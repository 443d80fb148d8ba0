"""AWS Signature Version 4, computed the way a verifying server does.

Everything is computed over the request exactly as it arrived: the raw path (its percent escapes
untouched, then URI-encoded once more as AWS does for every service but S3), the raw query, the
signed headers and the SHA-256 of the exact body bytes (or ``X-Amz-Content-SHA256`` when sent).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

__all__ = [
    "ALGORITHM",
    "AuthorizationHeader",
    "ReceivedRequest",
    "canonical_request",
    "compute_signature",
    "parse_authorization",
    "received_request",
    "signing_key",
    "string_to_sign",
]

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(slots=True, frozen=True)
class ReceivedRequest:
    """A request as received: ``headers`` maps lower-cased names to comma-joined values."""

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]
    body: bytes


def received_request(
    method: str, raw_target: str, header_items: Iterable[tuple[str, str]], body: bytes
) -> ReceivedRequest:
    """Build a :class:`ReceivedRequest` from the raw request target (path and query as sent).

    Header values are trimmed with inner whitespace runs collapsed, and repeated headers joined
    with commas, as the canonical form requires.
    """
    path, _, query = raw_target.partition("?")
    headers: dict[str, str] = {}
    for name, value in header_items:
        key = name.lower()
        normal = " ".join(value.split())
        headers[key] = f"{headers[key]},{normal}" if key in headers else normal
    return ReceivedRequest(
        method=method, raw_path=path, raw_query=query, headers=headers, body=body
    )


@dataclass(slots=True, frozen=True)
class AuthorizationHeader:
    """The parsed parts of an ``AWS4-HMAC-SHA256`` Authorization header."""

    access_key_id: str
    scope_date: str
    scope_region: str
    scope_service: str
    scope_terminator: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return "/".join(
            (self.scope_date, self.scope_region, self.scope_service, self.scope_terminator)
        )


def parse_authorization(value: str) -> AuthorizationHeader | list[str]:
    """Parse ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``.

    Returns the parsed header, or the names of the parameters that are missing or malformed.
    """
    _, _, rest = value.partition(" ")
    params: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            params[key] = val
    missing = [
        name for name in ("Credential", "Signature", "SignedHeaders") if not params.get(name)
    ]
    credential = params.get("Credential", "").split("/")
    if "Credential" not in missing and (len(credential) != 5 or not all(credential)):
        missing.append("Credential")
    if missing:
        return missing
    akid, date, region, service, terminator = credential
    return AuthorizationHeader(
        access_key_id=akid,
        scope_date=date,
        scope_region=region,
        scope_service=service,
        scope_terminator=terminator,
        signed_headers=tuple(params["SignedHeaders"].split(";")),
        signature=params["Signature"],
    )


def _canonical_query(raw_query: str) -> str:
    if not raw_query:
        return ""
    pairs = sorted(part.partition("=")[::2] for part in raw_query.split("&"))
    return "&".join(f"{key}={val}" for key, val in pairs)


def canonical_request(request: ReceivedRequest, signed_headers: tuple[str, ...]) -> str:
    """The SigV4 canonical request over the raw path and query."""
    canonical_headers = "".join(
        f"{name}:{request.headers.get(name, '')}\n" for name in signed_headers
    )
    payload_hash = (
        request.headers.get("x-amz-content-sha256") or hashlib.sha256(request.body).hexdigest()
    )
    return "\n".join(
        (
            request.method,
            quote(request.raw_path or "/", safe="/~"),
            _canonical_query(request.raw_query),
            canonical_headers,
            ";".join(signed_headers),
            payload_hash,
        )
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """The SigV4 string to sign for one canonical request."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return "\n".join((ALGORITHM, amz_date, scope, digest))


def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """The derived SigV4 key for one day, region and service."""
    key = ("AWS4" + secret_access_key).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def compute_signature(
    request: ReceivedRequest, auth: AuthorizationHeader, amz_date: str, secret_access_key: str
) -> str:
    """The hex signature the client must have sent, if it holds ``secret_access_key``."""
    canonical = canonical_request(request, auth.signed_headers)
    key = signing_key(secret_access_key, auth.scope_date, auth.scope_region, auth.scope_service)
    to_sign = string_to_sign(amz_date, auth.scope, canonical)
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
