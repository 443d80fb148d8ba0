"""Canonical :class:`ChatResponse` -> Anthropic ``message`` object."""

from __future__ import annotations

from typing import Any, Literal, assert_never

from stargate.core import (
    ChatResponse,
    ContentPart,
    DocumentPart,
    ImagePart,
    ReasoningPart,
    StopReason,
    TextPart,
    ToolResultPart,
    ToolUsePart,
    Usage,
)
from stargate.errors import UpstreamBadResponse

__all__ = ["AnthropicStopReason", "render_block", "render_message", "render_usage", "stop_reason"]

AnthropicStopReason = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]


def stop_reason(reason: StopReason) -> AnthropicStopReason:
    """The Anthropic ``stop_reason`` of a canonical stop reason (a total mapping). A content
    filter (Bedrock guardrails) is reported as ``refusal``, Anthropic's value for a turn the
    model would not complete for safety reasons."""
    match reason:
        case StopReason.END_TURN:
            return "end_turn"
        case StopReason.MAX_TOKENS:
            return "max_tokens"
        case StopReason.STOP_SEQUENCE:
            return "stop_sequence"
        case StopReason.TOOL_USE:
            return "tool_use"
        case StopReason.PAUSE_TURN:
            return "pause_turn"
        case StopReason.CONTENT_FILTERED | StopReason.REFUSAL:
            return "refusal"
        case StopReason.CONTEXT_WINDOW_EXCEEDED:
            return "model_context_window_exceeded"
        case unreachable:
            assert_never(unreachable)


def render_usage(usage: Usage) -> dict[str, int]:
    """Anthropic ``usage``: ``input_tokens`` counts only input that was neither read from nor
    written to the cache (the canonical convention is Anthropic's)."""
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
    }


def render_block(part: ContentPart) -> dict[str, Any]:
    """One assistant content block."""
    match part:
        case TextPart(text=text):
            return {"type": "text", "text": text}
        case ToolUsePart(id=tool_id, name=name, input=arguments):
            return {"type": "tool_use", "id": tool_id, "name": name, "input": arguments}
        case ReasoningPart(redacted=str() as data):
            return {"type": "redacted_thinking", "data": data}
        case ReasoningPart(text=text, signature=signature):
            return {"type": "thinking", "thinking": text, "signature": signature or ""}
        case ImagePart() | DocumentPart() | ToolResultPart():
            raise UpstreamBadResponse(
                f"the upstream answered with a {type(part).__name__}, which an assistant "
                "message cannot carry."
            )
        case unreachable:
            assert_never(unreachable)


def render_message(resp: ChatResponse, *, request_model: str) -> dict[str, Any]:
    """The ``message`` object for a finished turn. ``model`` is the name the caller asked for,
    not the upstream model id."""
    return {
        "id": resp.id,
        "type": "message",
        "role": "assistant",
        "model": request_model,
        "content": [render_block(part) for part in resp.content],
        "stop_reason": stop_reason(resp.stop_reason),
        "stop_sequence": resp.stop_sequence,
        "usage": render_usage(resp.usage),
    }
