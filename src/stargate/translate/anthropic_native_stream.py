"""The native Anthropic stream relayed to the caller: one step per upstream event.

On the native path (Claude through InvokeModel) the upstream's events are the caller's events;
the gateway only watches them and renames the model. :class:`NativeStreamRelay` does, for each
event and in this order, what the relay needs:

* usage: ``message_start`` and ``message_delta`` are fed to :class:`StreamUsage` (a malformed
  count raises :class:`~stargate.errors.UpstreamBadResponse`); the meter's ``usage`` is the
  stream's usage from the first event on;
* ``message_start.message.model`` becomes the model the caller asked for;
* the characters of each ``content_block_delta``'s string members (text, thinking, signature,
  partial tool input) are added to the meter's ``output_chars``;
* ``message_stop`` marks the meter complete;
* the event is framed as SSE (``event: <type>``, ``data: <json>``, blank line), byte for byte
  what :func:`~stargate.translate.anthropic_stream.render_native_event` renders.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from stargate.core import Usage
from stargate.errors import UpstreamBadResponse
from stargate.translate.anthropic_usage import StreamUsage

__all__ = ["NativeStreamRelay", "StreamMeter", "sse_prefix"]

_KNOWN_TYPES = (
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
)
_PREFIXES = {kind: b"event: " + kind.encode() + b"\ndata: " for kind in _KNOWN_TYPES}


class StreamMeter(Protocol):
    """What the relay keeps current for settlement (the pipeline's ``UsageMeter``)."""

    usage: Usage | None
    complete: bool
    output_chars: int


def sse_prefix(event_type: object) -> bytes:
    """``event: <type>\\ndata: `` for an event's ``type``; a missing or empty type is a bad
    response."""
    prefix = _PREFIXES.get(event_type) if isinstance(event_type, str) else None
    if prefix is not None:
        return prefix
    if not isinstance(event_type, str) or not event_type:
        raise UpstreamBadResponse("the upstream sent a stream event without a type")
    return b"event: " + event_type.encode() + b"\ndata: "


class NativeStreamRelay:
    """One per streamed response: :meth:`relay` each upstream event, send what it returns."""

    __slots__ = ("_meter", "_model", "_usage")

    def __init__(self, model: str, meter: StreamMeter) -> None:
        self._model = model
        self._meter = meter
        self._usage = StreamUsage()

    def relay(self, event: dict[str, Any]) -> bytes:
        """The SSE bytes of ``event``, after accounting for it (see the module)."""
        meter = self._meter
        kind = event.get("type")
        if kind == "content_block_delta":
            meter.usage = self._usage.usage
            delta = event.get("delta")
            if isinstance(delta, dict):
                chars = 0
                for name, value in delta.items():
                    if name != "type" and isinstance(value, str):
                        chars += len(value)
                meter.output_chars += chars
        elif kind == "message_start":
            self._usage.feed(event)
            meter.usage = self._usage.usage
            message = event.get("message")
            if isinstance(message, dict):
                message["model"] = self._model
        elif kind == "message_delta":
            self._usage.feed(event)
            meter.usage = self._usage.usage
        else:
            meter.usage = self._usage.usage
            if kind == "message_stop":
                meter.complete = True
        prefix = _PREFIXES.get(kind) if isinstance(kind, str) else None
        if prefix is None:
            prefix = sse_prefix(kind)
        return b"".join((prefix, orjson.dumps(event), b"\n\n"))
