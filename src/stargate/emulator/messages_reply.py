"""The deterministic reply in Anthropic Messages shape: thinking, text, tool use, usage, events.

The text and tool-use blocks are :func:`stargate.emulator.reply.compose_reply`'s. With thinking
(``enabled``, or ``adaptive`` where the model allows it) a ``thinking`` block comes first: the
text ``Thinking about: "<quote>".`` (the last user message's text, or its tool results, quoted as
the reply rules quote) and a ``signature``, the base64 of 64 bytes hashed from that text. The
thinking counts toward ``max_tokens``: the rest of the reply gets what is left (a thinking text
longer than the whole budget is cut, and the reply is then that block alone, ``max_tokens``).

Output tokens are the token rule over all the characters returned (thinking text, reply text,
tool names and compact JSON inputs). Tool-use ids are ``toolu_bdrk_01`` plus 22 characters hashed
from the conversation; message ids ``msg_bdrk_01`` plus 24 characters from the request id.

A stream is ``message_start`` (``usage`` with the input counts and ``output_tokens`` 1), per block
``content_block_start`` / deltas / ``content_block_stop``, ``message_delta`` (``stop_reason``,
``stop_sequence``, ``usage.output_tokens``) and ``message_stop``. Text streams as ``text_delta``s
(as ConverseStream splits it); thinking as ``thinking_delta``s then one ``signature_delta``; tool
input as ``input_json_delta`` fragments after a ``content_block_start`` with ``input: {}``.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, replace
from typing import assert_never

from stargate.emulator.prompt import Prompt
from stargate.emulator.prompt_cache import CacheUsage
from stargate.emulator.reply import (
    Reply,
    StopReason,
    TextBlock,
    ToolUseBlock,
    compose_reply,
    fragments,
    quote_text,
    text_deltas,
)
from stargate.emulator.tokens import CHARS_PER_TOKEN, compact_json, tokens_for_chars

__all__ = [
    "TOOL_INPUT_FRAGMENTS",
    "ClaudeReply",
    "ThinkingBlock",
    "compose_claude_reply",
    "message_body",
    "message_events",
    "message_id",
    "tool_use_id",
    "usage_body",
]

TOOL_INPUT_FRAGMENTS = 3
"""How many ``input_json_delta`` events a tool call's input streams as (fewer if shorter)."""

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(slots=True, frozen=True)
class ThinkingBlock:
    thinking: str
    signature: str


@dataclass(slots=True, frozen=True)
class ClaudeReply:
    """The reply (text and tool-use blocks, stop reason), its thinking, and output tokens."""

    thinking: ThinkingBlock | None
    reply: Reply
    output_tokens: int

    @property
    def stop_reason(self) -> StopReason:
        return self.reply.stop_reason


def _thinking_block(prompt: Prompt) -> ThinkingBlock:
    source = " ".join(prompt.tool_results) if prompt.tool_results else prompt.last_user_text
    text = f'Thinking about: "{quote_text(source)}".'
    seed = text.encode()
    digest = hashlib.sha512(b"stargate-thinking\x00" + seed).digest()
    return ThinkingBlock(text, base64.b64encode(digest).decode("ascii"))


def compose_claude_reply(prompt: Prompt, *, thinking: bool) -> ClaudeReply:
    """The reply rules' answer to ``prompt``, with a thinking block first when ``thinking``."""
    if not thinking:
        reply = compose_reply(prompt)
        return ClaudeReply(None, reply, reply.output_tokens)
    block = _thinking_block(prompt)
    budget = None if prompt.max_tokens is None else prompt.max_tokens * CHARS_PER_TOKEN
    if budget is not None and len(block.thinking) > budget:
        cut = ThinkingBlock(block.thinking[:budget], block.signature)
        empty = Reply((), "max_tokens", None, prompt.input_tokens, 0)
        return ClaudeReply(cut, empty, tokens_for_chars(budget))
    left = None if budget is None else (budget - len(block.thinking)) // CHARS_PER_TOKEN
    reply = compose_reply(replace(prompt, max_tokens=left))
    chars = len(block.thinking) + sum(part.chars for part in reply.blocks)
    return ClaudeReply(block, reply, tokens_for_chars(chars))


def _base62(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    out = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        out.append(_BASE62[digit])
    return "".join(out)


def tool_use_id(reply_id: str) -> str:
    """The Anthropic-on-Bedrock id (``toolu_bdrk_01...``) of a reply-rules tool call id."""
    return "toolu_bdrk_01" + _base62(hashlib.sha256(reply_id.encode()).digest(), 22)


def message_id(request_id: str) -> str:
    """A message id (``msg_bdrk_01...``) derived from the request id."""
    raw = uuid.UUID(request_id).bytes if len(request_id) == 36 else request_id.encode()
    return "msg_bdrk_01" + _base62(hashlib.sha256(raw).digest(), 24)


def usage_body(usage: CacheUsage, output_tokens: int) -> dict[str, object]:
    """The Anthropic ``usage`` object."""
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.ephemeral_5m_input_tokens,
            "ephemeral_1h_input_tokens": usage.ephemeral_1h_input_tokens,
        },
        "output_tokens": output_tokens,
    }


def _content(block: TextBlock | ToolUseBlock) -> dict[str, object]:
    match block:
        case TextBlock():
            return {"type": "text", "text": block.text}
        case ToolUseBlock():
            return {
                "type": "tool_use",
                "id": tool_use_id(block.tool_use_id),
                "name": block.name,
                "input": block.input,
            }
        case _:
            assert_never(block)


def _blocks(reply: ClaudeReply) -> list[dict[str, object]]:
    blocks = [_content(block) for block in reply.reply.blocks]
    thinking = reply.thinking
    if thinking is None:
        return blocks
    lead: dict[str, object] = {
        "type": "thinking",
        "thinking": thinking.thinking,
        "signature": thinking.signature,
    }
    return [lead, *blocks]


def message_body(
    reply: ClaudeReply, *, model_name: str, message_id: str, usage: CacheUsage
) -> dict[str, object]:
    """The InvokeModel response body."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model_name,
        "content": _blocks(reply),
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.reply.stop_sequence,
        "usage": usage_body(usage, reply.output_tokens),
    }


def _delta(index: int, delta: dict[str, object]) -> dict[str, object]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _block_events(index: int, block: dict[str, object]) -> list[dict[str, object]]:
    kind = block["type"]
    if kind == "thinking":
        start: dict[str, object] = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [
            _delta(index, {"type": "thinking_delta", "thinking": part})
            for part in text_deltas(str(block["thinking"]))
        ]
        deltas.append(_delta(index, {"type": "signature_delta", "signature": block["signature"]}))
    elif kind == "tool_use":
        start = {**block, "input": {}}
        deltas = [
            _delta(index, {"type": "input_json_delta", "partial_json": part})
            for part in fragments(compact_json(block["input"]), TOOL_INPUT_FRAGMENTS)
        ]
    else:
        start = {"type": "text", "text": ""}
        deltas = [
            _delta(index, {"type": "text_delta", "text": part})
            for part in text_deltas(str(block["text"]))
        ]
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *deltas,
        {"type": "content_block_stop", "index": index},
    ]


def message_events(
    reply: ClaudeReply, *, model_name: str, message_id: str, usage: CacheUsage
) -> list[dict[str, object]]:
    """The Anthropic stream events of ``reply``, up to (not including) ``message_stop``."""
    events: list[dict[str, object]] = [
        {
            "type": "message_start",
            "message": {
                "model": model_name,
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage_body(usage, 1),
            },
        }
    ]
    for index, block in enumerate(_blocks(reply)):
        events.extend(_block_events(index, block))
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": reply.reply.stop_sequence},
            "usage": {"output_tokens": reply.output_tokens},
        }
    )
    return events
