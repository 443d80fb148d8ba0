"""Request ids: accept a well-formed inbound ``x-request-id`` or mint one."""

from __future__ import annotations

import re
import uuid

__all__ = ["request_id_from"]

_VALID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


def request_id_from(inbound: str | None) -> str:
    if inbound and _VALID.match(inbound):
        return inbound
    return "req_" + uuid.uuid4().hex
