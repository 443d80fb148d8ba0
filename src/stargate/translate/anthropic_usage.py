"""Usage out of Anthropic Messages bodies and stream events (the native path).

Anthropic's convention is the canonical one: ``input_tokens`` counts only input that was neither
read from nor written to the prompt cache; ``cache_read_input_tokens`` and
``cache_creation_input_tokens`` are separate. A missing count is 0 (older models and some
events leave the cache members out); a count of the wrong type is
:class:`~stargate.errors.UpstreamBadResponse`.

In a stream, ``message_start.message.usage`` carries the input and cache counts (and an early
output count); each ``message_delta.usage`` carries the cumulative ``output_tokens`` and, on
newer APIs, the final input and cache counts too. :class:`StreamUsage` keeps the latest value of
each count it has seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stargate.core import Usage
from stargate.errors import UpstreamBadResponse

__all__ = ["StreamUsage", "usage_from_message"]

_FIELDS = (
    ("input_tokens", "input_tokens"),
    ("output_tokens", "output_tokens"),
    ("cache_read_input_tokens", "cache_read_tokens"),
    ("cache_creation_input_tokens", "cache_write_tokens"),
)


def usage_from_message(body: Mapping[str, Any]) -> Usage:
    """The usage of a whole ``message`` body. A body without ``usage`` is a bad response."""
    if "usage" not in body:
        raise UpstreamBadResponse("the upstream message has no usage")
    usage = Usage()
    _apply(usage, body["usage"], "usage")
    return usage


@dataclass(slots=True)
class StreamUsage:
    """Feed it every native stream event; :attr:`usage` is the usage so far."""

    usage: Usage = field(default_factory=Usage)

    def feed(self, event: Mapping[str, Any]) -> None:
        match event.get("type"):
            case "message_start":
                message = event.get("message")
                if not isinstance(message, dict):
                    raise UpstreamBadResponse("the upstream message_start has no message")
                if "usage" in message:
                    _apply(self.usage, message["usage"], "message_start.message.usage")
            case "message_delta":
                if "usage" in event:
                    _apply(self.usage, event["usage"], "message_delta.usage")
            case _:
                pass


def _apply(usage: Usage, value: object, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise UpstreamBadResponse(f"the upstream sent a malformed {where}: expected an object")
    for member, attribute in _FIELDS:
        count = value.get(member)
        if count is None:
            continue
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise UpstreamBadResponse(f"the upstream sent a malformed {where}.{member}: {count!r}")
        setattr(usage, attribute, count)
