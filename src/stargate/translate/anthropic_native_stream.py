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
* the event is framed as SSE by :func:`~stargate.translate.anthropic_stream.render_native_event`.
"""

from __future__ import annotations

from typing import Any, Protocol

from stargate.core import Usage
from stargate.translate.anthropic_stream import render_native_event
from stargate.translate.anthropic_usage import StreamUsage

__all__ = ["NativeStreamRelay", "StreamMeter"]


class StreamMeter(Protocol):
    """What the relay keeps current for settlement (the pipeline's ``UsageMeter``)."""

    usage: Usage | None
    complete: bool
    output_chars: int


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
            delta = event.get("delta")
            if isinstance(delta, dict):
                chars = 0
                for name, value in delta.items():
                    if name != "type" and isinstance(value, str):
                        chars += len(value)
                meter.output_chars += chars
        elif kind == "message_start":
            self._usage.feed(event)
            message = event.get("message")
            if isinstance(message, dict):
                message["model"] = self._model
        elif kind == "message_delta":
            self._usage.feed(event)
        elif kind == "message_stop":
            meter.complete = True
        # Set once an event is accounted for (a malformed first event leaves it None, so that
        # settlement estimates the prompt); the same object from then on.
        meter.usage = self._usage.usage
        return render_native_event(event)
