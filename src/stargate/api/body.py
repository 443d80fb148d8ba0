"""Reading a JSON request body: size-bounded, with errors that say what is wrong."""

from __future__ import annotations

import orjson

from stargate.api.request import ApiRequest
from stargate.errors import InvalidRequest, RequestTooLarge

__all__ = ["MAX_BODY_BYTES", "read_json"]

MAX_BODY_BYTES = 32 * 1024 * 1024


async def read_json(request: ApiRequest) -> object:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestTooLarge(f"Request body is larger than {MAX_BODY_BYTES} bytes.")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise RequestTooLarge(f"Request body is larger than {MAX_BODY_BYTES} bytes.")
    if not raw:
        raise InvalidRequest("Request body is empty; send a JSON object.", code="invalid_json")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}", code="invalid_json") from exc
