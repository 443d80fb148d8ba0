"""Canonical :class:`ChatResponse` -> OpenAI ``chat.completion`` object."""

from __future__ import annotations

from typing import Any, Literal, assert_never

import orjson

from stargate.core import (
    ChatResponse,
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

__all__ = ["FinishReason", "finish_reason", "render_chat_response", "render_usage"]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


def finish_reason(reason: StopReason) -> FinishReason:
    """The OpenAI ``finish_reason`` of a canonical stop reason (a total mapping)."""
    match reason:
        case StopReason.END_TURN | StopReason.STOP_SEQUENCE | StopReason.PAUSE_TURN:
            return "stop"
        case StopReason.MAX_TOKENS | StopReason.CONTEXT_WINDOW_EXCEEDED:
            return "length"
        case StopReason.TOOL_USE:
            return "tool_calls"
        case StopReason.CONTENT_FILTERED | StopReason.REFUSAL:
            return "content_filter"
        case unreachable:
            assert_never(unreachable)


def render_usage(usage: Usage) -> dict[str, Any]:
    """OpenAI ``usage``: ``prompt_tokens`` counts cached input too (the OpenAI convention)."""
    prompt = usage.prompt_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def render_chat_response(
    resp: ChatResponse, *, request_model: str, created: int, response_id: str
) -> dict[str, Any]:
    """The ``chat.completion`` object for a finished turn.

    ``model`` is the name the caller asked for, not the upstream model id. ``content`` is the
    text parts joined (``null`` when the turn holds only tool calls); reasoning text, when any,
    is ``message.reasoning_content``.
    """
    texts: list[str] = []
    reasoning: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for part in resp.content:
        match part:
            case TextPart(text=text):
                texts.append(text)
            case ToolUsePart(id=call_id, name=name, input=arguments):
                tool_calls.append(
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": orjson.dumps(arguments).decode()},
                    }
                )
            case ReasoningPart(text=text):
                if text:
                    reasoning.append(text)
            case ImagePart() | DocumentPart() | ToolResultPart():
                raise UpstreamBadResponse(
                    f"the upstream answered with a {type(part).__name__}, which an assistant "
                    "message cannot carry."
                )
            case unreachable:
                assert_never(unreachable)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
        "refusal": None,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": request_model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(resp.stop_reason),
            }
        ],
        "usage": render_usage(resp.usage),
    }
