"""Anthropic Messages server-sent events: canonical stream events -> SSE bytes, and the native
pass-through framing.

Every event is framed exactly as Anthropic frames it, with an ``event:`` line (Claude Code and
the SDKs ignore data-only events)::

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

One :class:`MessagesStreamRenderer` per response. The sequence is ``message_start``; for each
content block ``content_block_start``, its deltas (``text_delta``; ``thinking_delta`` and
``signature_delta``; ``input_json_delta``) and ``content_block_stop``; then ``message_delta``
(``stop_reason``, ``stop_sequence``, ``usage``) and ``message_stop``.

Usage: Converse reports usage only at the end of a stream, so ``message_start`` carries zero
counts and ``message_delta.usage`` carries the whole final usage (``input_tokens``,
``output_tokens`` and both cache counts), as Anthropic's own API does in ``message_delta``; the
SDKs and Claude Code take the final numbers from there.
"""

from __future__ import annotations

import enum
from typing import Any, assert_never

import orjson

from stargate.core import (
    BlockStop,
    MessageStart,
    MessageStop,
    ReasoningDelta,
    StopReason,
    StreamEvent,
    TextDelta,
    ToolUseDelta,
    ToolUseStart,
    Usage,
    UsageReport,
)
from stargate.core.ids import random_hex
from stargate.errors import StargateError, UpstreamBadResponse
from stargate.translate.anthropic_response import render_usage, stop_reason

__all__ = ["PING", "MessagesStreamRenderer", "render_native_event", "render_sse"]

PING = b'event: ping\ndata: {"type":"ping"}\n\n'
_EMPTY_USAGE = render_usage(Usage())


# The head of an event of each type Anthropic streams, made once (a stream has dozens of events).
_SSE_HEADS = {
    kind: b"event: " + kind.encode() + b"\ndata: "
    for kind in ("message_start", "content_block_start", "content_block_delta",
                 "content_block_stop", "message_delta", "message_stop", "ping", "error")
}  # fmt: skip


def render_sse(event_type: str, data: bytes) -> bytes:
    """One SSE event: ``event: <type>``, ``data: <json>`` and the blank line."""
    head = _SSE_HEADS.get(event_type) or b"event: " + event_type.encode() + b"\ndata: "
    return b"".join((head, data, b"\n\n"))


def render_native_event(event: dict[str, Any]) -> bytes:
    """An Anthropic stream event dict (as the native path yields them) as one SSE event."""
    event_type = event.get("type")
    if type(event_type) is str and (head := _SSE_HEADS.get(event_type)) is not None:
        return b"".join((head, orjson.dumps(event), b"\n\n"))  # a type Anthropic streams
    if not isinstance(event_type, str) or not event_type:
        raise UpstreamBadResponse("the upstream sent a stream event without a type")
    return render_sse(event_type, orjson.dumps(event))


class _Kind(enum.Enum):
    TEXT = "text"
    THINKING = "thinking"
    REDACTED = "redacted_thinking"
    TOOL_USE = "tool_use"


class MessagesStreamRenderer:
    """Turns one response's :class:`StreamEvent` s into ready-to-send SSE events."""

    __slots__ = ("_closed", "_model", "_open", "_started", "_stop", "_usage")

    def __init__(self, *, request_model: str) -> None:
        self._model = request_model
        self._open: dict[int, _Kind] = {}
        self._started = False
        self._stop: MessageStop | None = None
        self._usage: Usage | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once ``message_stop`` or an error has been rendered: nothing may follow."""
        return self._closed

    def feed(self, event: StreamEvent) -> list[bytes]:
        """The SSE events for one canonical event (often one, sometimes none or several)."""
        if self._closed:
            return []
        out: list[bytes] = []
        if not self._started and not isinstance(event, MessageStart):
            out.append(self._message_start(f"msg_{random_hex()}"))
        match event:
            case MessageStart(id=message_id):
                if not self._started:
                    out.append(self._message_start(message_id))
            case TextDelta(index=index, text=text):
                self._ensure(out, index, _Kind.TEXT)
                if text:
                    out.append(self._delta(index, {"type": "text_delta", "text": text}))
            case ReasoningDelta():
                self._reasoning(out, event)
            case ToolUseStart(index=index, id=tool_id, name=name):
                block = {"type": "tool_use", "id": tool_id, "name": name, "input": {}}
                self._start(out, index, _Kind.TOOL_USE, block)
            case ToolUseDelta(index=index, partial_json=fragment):
                self._require(index, _Kind.TOOL_USE)
                if fragment:
                    delta = {"type": "input_json_delta", "partial_json": fragment}
                    out.append(self._delta(index, delta))
            case BlockStop(index=index):
                if self._open.pop(index, None) is not None:
                    out.append(_block_stop(index))
            case MessageStop():
                for index in list(self._open):
                    del self._open[index]
                    out.append(_block_stop(index))
                self._stop = event
                self._finish(out)
            case UsageReport(usage=usage):
                self._usage = usage
                self._finish(out)
            case unreachable:
                assert_never(unreachable)
        return out

    def error_event(self, err: StargateError, *, request_id: str | None = None) -> list[bytes]:
        """A mid-stream failure as Anthropic sends it (``event: error``); nothing may follow."""
        if self._closed:
            return []
        self._closed = True
        body: dict[str, Any] = {
            "type": "error",
            "error": {"type": err.anthropic_type, "message": err.message},
        }
        if request_id is not None:
            body["request_id"] = request_id
        return [render_sse("error", orjson.dumps(body))]

    def ping(self) -> bytes:
        """A keep-alive event, for long waits (Claude Code gives up after 5 silent minutes)."""
        return PING

    # --- internals ----------------------------------------------------------------------

    def _message_start(self, message_id: str) -> bytes:
        self._started = True
        message: dict[str, Any] = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": _EMPTY_USAGE,
        }
        return render_sse(
            "message_start", orjson.dumps({"type": "message_start", "message": message})
        )

    def _reasoning(self, out: list[bytes], event: ReasoningDelta) -> None:
        index = event.index
        if event.redacted is not None:
            if index not in self._open:
                block = {"type": "redacted_thinking", "data": event.redacted}
                self._start(out, index, _Kind.REDACTED, block)
            else:
                self._require(index, _Kind.REDACTED)
            return
        self._ensure(out, index, _Kind.THINKING)
        if event.text:
            out.append(self._delta(index, {"type": "thinking_delta", "thinking": event.text}))
        if event.signature is not None:
            delta = {"type": "signature_delta", "signature": event.signature}
            out.append(self._delta(index, delta))

    def _ensure(self, out: list[bytes], index: int, kind: _Kind) -> None:
        if index in self._open:
            self._require(index, kind)
            return
        match kind:
            case _Kind.TEXT:
                self._start(out, index, kind, {"type": "text", "text": ""})
            case _Kind.THINKING:
                block = {"type": "thinking", "thinking": "", "signature": ""}
                self._start(out, index, kind, block)
            case _Kind.REDACTED | _Kind.TOOL_USE:  # these start with their own event
                raise UpstreamBadResponse(f"the upstream stream never started block {index}")
            case unreachable:
                assert_never(unreachable)

    def _start(self, out: list[bytes], index: int, kind: _Kind, block: dict[str, Any]) -> None:
        if index in self._open:
            raise UpstreamBadResponse(f"the upstream stream started block {index} twice")
        self._open[index] = kind
        event = {"type": "content_block_start", "index": index, "content_block": block}
        out.append(render_sse("content_block_start", orjson.dumps(event)))

    def _require(self, index: int, kind: _Kind) -> None:
        found = self._open.get(index)
        if found is not kind:
            shown = found.value if found is not None else "no open"
            raise UpstreamBadResponse(
                f"the upstream stream sent a {kind.value} delta for {shown} block {index}"
            )

    def _delta(self, index: int, delta: dict[str, Any]) -> bytes:
        event = {"type": "content_block_delta", "index": index, "delta": delta}
        return render_sse("content_block_delta", orjson.dumps(event))

    def _finish(self, out: list[bytes]) -> None:
        if self._stop is None or self._usage is None:
            return
        self._closed = True
        reason: StopReason = self._stop.stop_reason
        event = {
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason(reason),
                "stop_sequence": self._stop.stop_sequence,
            },
            "usage": render_usage(self._usage),
        }
        out.append(render_sse("message_delta", orjson.dumps(event)))
        out.append(render_sse("message_stop", b'{"type":"message_stop"}'))


def _block_stop(index: int) -> bytes:
    return render_sse(
        "content_block_stop", orjson.dumps({"type": "content_block_stop", "index": index})
    )
