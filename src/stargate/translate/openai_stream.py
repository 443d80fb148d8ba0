"""Canonical stream events -> OpenAI ``chat.completion.chunk`` SSE lines.

One :class:`ChatStreamRenderer` per response. Every chunk shares the same envelope (``id``,
``object``, ``created``, ``model``, ``system_fingerprint``), so it is serialized once, in
``__init__``, and each chunk only serializes its ``delta``::

    data: {"id":...,"object":"chat.completion.chunk",...,"choices":[{"index":0,"delta":{...},
           "logprobs":null,"finish_reason":null}]}

The sequence is: a role chunk (``delta: {"role": "assistant", "content": ""}``), content,
reasoning and tool-call chunks, a chunk with an empty delta and the ``finish_reason``, then from
:meth:`~ChatStreamRenderer.finish` the usage chunk (``choices: []``, only when the caller asked
with ``stream_options.include_usage``) and ``data: [DONE]``. A failure renders
``data: {"error": {...}}`` and ends the stream (no ``[DONE]``): the openai SDK raises
``APIError`` from it.
"""

from __future__ import annotations

from typing import assert_never

import orjson

from stargate.core import (
    BlockStop,
    MessageStart,
    MessageStop,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolUseDelta,
    ToolUseStart,
    Usage,
    UsageReport,
)
from stargate.errors import StargateError
from stargate.translate.openai_response import finish_reason, render_usage

__all__ = ["DONE", "ChatStreamRenderer"]

DONE = b"data: [DONE]\n\n"
_ROLE_DELTA = b'{"role":"assistant","content":""}'
_EMPTY_DELTA = b"{}"


class ChatStreamRenderer:
    """Turns one response's :class:`StreamEvent` s into ready-to-send SSE byte lines."""

    __slots__ = (
        "_closed",
        "_envelope",
        "_head",
        "_include_usage",
        "_open_tail",
        "_started",
        "_tail",
        "_text_head",
        "_text_tail",
        "_tools",
        "_usage",
    )

    def __init__(
        self, *, response_id: str, request_model: str, created: int, include_usage: bool
    ) -> None:
        envelope = orjson.dumps(
            {
                "id": response_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": request_model,
                "system_fingerprint": None,
            }
        )
        self._envelope = b"data: " + envelope[:-1]  # without the closing brace
        self._head = self._envelope + b',"choices":[{"index":0,"delta":'
        # OpenAI sends "usage": null on every chunk when the usage chunk is coming
        self._tail = b"}]" + (b',"usage":null}\n\n' if include_usage else b"}\n\n")
        self._open_tail = b',"logprobs":null,"finish_reason":null' + self._tail
        # Most chunks: a content delta, its text serialized alone between these two.
        self._text_head = self._head + b'{"content":'
        self._text_tail = b"}" + self._open_tail
        self._include_usage = include_usage
        self._tools: dict[int, int] = {}  # content block index -> tool call ordinal
        self._usage = Usage()
        self._started = False
        self._closed = False

    def feed(self, event: StreamEvent) -> list[bytes]:
        """The SSE lines for one event (often one line, sometimes none)."""
        if self._closed:
            return []
        if type(event) is TextDelta and self._started:
            text = event.text
            if not text:
                return []
            return [b"".join((self._text_head, orjson.dumps(text), self._text_tail))]
        out: list[bytes] = []
        if not self._started:
            self._started = True
            out.append(self._chunk(_ROLE_DELTA))
        match event:
            case MessageStart() | BlockStop():
                pass
            case TextDelta(text=text):
                if text:
                    out.append(self._chunk(orjson.dumps({"content": text})))
            case ReasoningDelta(text=text):
                if text:
                    out.append(self._chunk(orjson.dumps({"reasoning_content": text})))
            case ToolUseStart(index=index, id=call_id, name=name):
                ordinal = self._tools[index] = len(self._tools)
                call = {
                    "index": ordinal,
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": ""},
                }
                out.append(self._chunk(orjson.dumps({"tool_calls": [call]})))
            case ToolUseDelta(index=index, partial_json=fragment):
                if fragment:
                    ordinal = self._tools[index]
                    call = {"index": ordinal, "function": {"arguments": fragment}}
                    out.append(self._chunk(orjson.dumps({"tool_calls": [call]})))
            case MessageStop(stop_reason=reason):
                out.append(self._chunk(_EMPTY_DELTA, finish_reason(reason)))
            case UsageReport(usage=usage):
                self._usage = usage
            case unreachable:
                assert_never(unreachable)
        return out

    def finish(self) -> list[bytes]:
        """The closing lines: the usage chunk (when asked for) and ``data: [DONE]``."""
        if self._closed:
            return []
        self._closed = True
        if not self._include_usage:
            return [DONE]
        usage = orjson.dumps(render_usage(self._usage))
        return [b"".join((self._envelope, b',"choices":[],"usage":', usage, b"}\n\n")), DONE]

    def error_event(self, err: StargateError) -> list[bytes]:
        """A mid-stream failure, in the OpenAI shape; nothing may follow it."""
        if self._closed:
            return []
        self._closed = True
        error = {
            "error": {
                "message": err.message,
                "type": err.openai_type,
                "param": err.param,
                "code": err.code,
            }
        }
        return [b"data: " + orjson.dumps(error) + b"\n\n"]

    def _chunk(self, delta: bytes, finish: str | None = None) -> bytes:
        if finish is None:
            return b"".join((self._head, delta, self._open_tail))
        reason = b',"logprobs":null,"finish_reason":"' + finish.encode() + b'"'
        return b"".join((self._head, delta, reason, self._tail))
