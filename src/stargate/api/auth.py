"""Where callers put their key: ``Authorization: Bearer`` or ``x-api-key`` (both accepted)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["presented_key"]


def presented_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None
