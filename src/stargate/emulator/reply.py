"""The deterministic reply to a :class:`~stargate.emulator.prompt.Prompt`.

Rules, applied in order:

1. The last user message carries tool results: one text block,
   ``The tool returned: "<result text>".``
2. Tools are offered and the prompt asks for one: a ``toolUse`` block for every tool named as
   ``call NAME``, ``use NAME``, ``use the NAME tool``, ``using NAME`` or ``invoke NAME``
   (case-insensitive, in the order mentioned), led by the text ``I will use the NAME tool.``;
   ``toolChoice`` ``any`` calls the first tool when none is named and ``tool`` calls the chosen
   one, both without the lead text (the model is forced straight into the call). Tool ids are
   ``tooluse_`` plus 22 characters hashed from the conversation, input per
   :mod:`stargate.emulator.tool_input`; the stop reason is ``tool_use``.
3. Otherwise one text block, ``This is the Stargate Bedrock emulator. You said: "<text>".``

Quoted text has fault markers removed, whitespace collapsed and is cut to 200 characters (``...``
appended when cut). Then the limits, as a model would meet them while generating:

- the earliest occurrence of any stop sequence in the text cuts the reply there (the sequence
  itself is not returned; later blocks are dropped): stop reason ``stop_sequence``;
- if the reply is longer than ``maxTokens`` tokens (output characters are the text plus each tool
  call's name and compact JSON input), text is cut to ``4 * maxTokens`` characters, tool calls
  that do not fit whole are dropped: stop reason ``max_tokens``.

Output tokens are the token rule over what is returned; a stream splits each text block into at
least three deltas (when it has three characters) and tool input JSON into string fragments.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from stargate.emulator.faults import strip_fault_markers
from stargate.emulator.prompt import Prompt, ToolSpec
from stargate.emulator.tokens import CHARS_PER_TOKEN, compact_json, tokens_for_chars
from stargate.emulator.tool_input import tool_input

__all__ = [
    "QUOTE_LIMIT",
    "Reply",
    "ReplyBlock",
    "StopReason",
    "TextBlock",
    "ToolUseBlock",
    "compose_reply",
    "fragments",
    "quote_text",
    "text_deltas",
]

QUOTE_LIMIT = 200
"""The most characters of the prompt a reply quotes."""

StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence"]

_WORD = re.compile(r"\S+\s*|\s+")


@dataclass(slots=True, frozen=True)
class TextBlock:
    text: str

    @property
    def chars(self) -> int:
        return len(self.text)


@dataclass(slots=True, frozen=True)
class ToolUseBlock:
    tool_use_id: str
    name: str
    input: Mapping[str, object]

    @property
    def input_json(self) -> str:
        return compact_json(self.input)

    @property
    def chars(self) -> int:
        return len(self.name) + len(self.input_json)


ReplyBlock = TextBlock | ToolUseBlock


@dataclass(slots=True, frozen=True)
class Reply:
    """What the emulated model says, why it stopped, and the exact usage."""

    blocks: tuple[ReplyBlock, ...]
    stop_reason: StopReason
    stop_sequence: str | None
    input_tokens: int
    output_tokens: int


def quote_text(text: str) -> str:
    """``text`` as a reply quotes it: markers gone, whitespace collapsed, at most 200 chars."""
    flat = " ".join(strip_fault_markers(text).split())
    return flat if len(flat) <= QUOTE_LIMIT else flat[:QUOTE_LIMIT] + "..."


def _tool_use_id(prompt: Prompt, name: str, ordinal: int) -> str:
    seed = f"{prompt.turn}\x00{prompt.last_user_text}\x00{name}\x00{ordinal}".encode()
    digest = hashlib.sha256(seed).digest()[:16]
    return "tooluse_" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _named_tools(prompt: Prompt, text: str) -> list[ToolSpec]:
    positions: list[tuple[int, int, ToolSpec]] = []
    for index, tool in enumerate(prompt.tools):
        pattern = r"\b(?:call|use|using|invoke)\s+(?:the\s+)?" + re.escape(tool.name) + r"(?![\w-])"
        match = re.search(pattern, text, re.IGNORECASE)
        if match is not None:
            positions.append((match.start(), index, tool))
    return [tool for _, _, tool in sorted(positions, key=lambda item: item[:2])]


def _tool_calls(prompt: Prompt, text: str) -> tuple[list[ToolSpec], bool]:
    """The tools to call and whether the model is forced (no lead text)."""
    choice = prompt.tool_choice
    if choice.mode == "tool":
        return [tool for tool in prompt.tools if tool.name == choice.name][:1], True
    named = _named_tools(prompt, text)
    if choice.mode == "any":
        return (named or list(prompt.tools[:1])), True
    return named, False


def _draft(prompt: Prompt) -> list[ReplyBlock]:
    text = strip_fault_markers(prompt.last_user_text)
    if prompt.tool_results:
        return [TextBlock(f'The tool returned: "{quote_text(" ".join(prompt.tool_results))}".')]
    tools, forced = _tool_calls(prompt, text) if prompt.tools else ([], False)
    if not tools:
        return [
            TextBlock(f'This is the Stargate Bedrock emulator. You said: "{quote_text(text)}".')
        ]
    blocks: list[ReplyBlock] = []
    if not forced:
        names = " and ".join(tool.name for tool in tools)
        blocks.append(TextBlock(f"I will use the {names} tool."))
    for ordinal, tool in enumerate(tools):
        blocks.append(
            ToolUseBlock(
                _tool_use_id(prompt, tool.name, ordinal),
                tool.name,
                tool_input(tool.input_schema, text),
            )
        )
    return blocks


def _cut_at_stop_sequence(
    blocks: list[ReplyBlock], stops: tuple[str, ...]
) -> tuple[list[ReplyBlock], str | None]:
    for position, block in enumerate(blocks):
        if not isinstance(block, TextBlock):
            continue
        hits = [(block.text.find(stop), -len(stop), stop) for stop in stops if stop]
        found = sorted(hit for hit in hits if hit[0] >= 0)
        if found:
            at, _, stop = found[0]
            kept = [*blocks[:position], TextBlock(block.text[:at])]
            return kept, stop
    return blocks, None


def _cut_to_budget(blocks: list[ReplyBlock], budget: int) -> list[ReplyBlock]:
    kept: list[ReplyBlock] = []
    for block in blocks:
        if block.chars <= budget:
            kept.append(block)
            budget -= block.chars
            continue
        if isinstance(block, TextBlock) and budget > 0:
            kept.append(TextBlock(block.text[:budget]))
        break
    return kept


def compose_reply(prompt: Prompt) -> Reply:
    """Answer ``prompt`` by the rules in this module's docstring."""
    blocks = _draft(prompt)
    stop_reason: StopReason = (
        "tool_use" if any(isinstance(block, ToolUseBlock) for block in blocks) else "end_turn"
    )
    blocks, stop_sequence = _cut_at_stop_sequence(blocks, prompt.stop_sequences)
    if stop_sequence is not None:
        stop_reason = "stop_sequence"
    if prompt.max_tokens is not None:
        budget = prompt.max_tokens * CHARS_PER_TOKEN
        if sum(block.chars for block in blocks) > budget:
            blocks = _cut_to_budget(blocks, budget)
            stop_reason, stop_sequence = "max_tokens", None
    kept = tuple(block for block in blocks if not (isinstance(block, TextBlock) and not block.text))
    return Reply(
        blocks=kept,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_tokens=prompt.input_tokens,
        output_tokens=tokens_for_chars(sum(block.chars for block in kept)),
    )


def fragments(text: str, pieces: int) -> list[str]:
    """``text`` cut into ``pieces`` nearly equal consecutive slices (fewer if it is shorter)."""
    count = max(1, min(pieces, len(text)))
    size, extra = divmod(len(text), count)
    out: list[str] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        out.append(text[start:end])
        start = end
    return out


def text_deltas(text: str) -> list[str]:
    """The stream deltas of one text block: two words each, at least three when possible."""
    words = _WORD.findall(text)
    deltas = ["".join(words[index : index + 2]) for index in range(0, len(words), 2)]
    return deltas if len(deltas) >= 3 else fragments(text, 3)
