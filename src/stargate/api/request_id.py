"""Request ids: accept a well-formed inbound ``x-request-id`` or mint one."""

from __future__ import annotations

import re

from stargate.core.ids import random_hex

__all__ = ["request_id_from"]

_VALID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


def request_id_from(inbound: str | None) -> str:
    if inbound and _VALID.match(inbound):
        return inbound
    return "req_" + random_hex()
