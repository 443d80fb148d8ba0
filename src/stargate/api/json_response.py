"""A JSON response whose head is made in one pass (:class:`JsonResponse`).

Starlette's ``Response`` lowers and encodes each header name, lists the names again to look for
``content-length`` and ``content-type``, and works out the media type's charset, for every
response. The API's JSON responses carry a dozen headers from a small set of names (request id,
rate limits, cost): here a name is lowered and encoded once per process, and the head is the
same list of headers Starlette would send, in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

__all__ = ["JsonResponse"]

_CONTENT_TYPE = (b"content-type", b"application/json")
_NO_BODY_STATUS = frozenset({204, 304})

_NAMES: dict[str, bytes] = {}
_MAX_NAMES = 1024  # names come from the gateway's code; a bound all the same


def _encoded_name(name: str) -> bytes:
    encoded = name.lower().encode("latin-1")
    if len(_NAMES) < _MAX_NAMES:
        _NAMES[name] = encoded
    return encoded


class JsonResponse(Response):
    """``Response(body, status_code, headers, media_type="application/json")``, faster.

    ``body`` is the encoded JSON. The head holds ``headers`` (names lowercased), then
    ``content-length`` and ``content-type`` unless ``headers`` has them, as Starlette's.
    """

    media_type = "application/json"

    def __init__(
        self, body: bytes, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        self.body = body
        self.status_code = status_code
        self.background = None
        names = _NAMES
        raw = [
            (names.get(name) or _encoded_name(name), value.encode("latin-1"))
            for name, value in (headers or {}).items()
        ]
        keys = [name for name, _ in raw]
        if (
            b"content-length" not in keys
            and status_code >= 200
            and status_code not in _NO_BODY_STATUS
        ):
            raw.append((b"content-length", str(len(body)).encode("latin-1")))
        if b"content-type" not in keys:
            raw.append(_CONTENT_TYPE)
        self.raw_headers = raw
