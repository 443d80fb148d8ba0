"""What the reply rules need from a request, whatever API dialect it arrived in.

Each operation parses its own request shape (Converse today; Anthropic Messages for InvokeModel
later) into a :class:`Prompt`, and :func:`stargate.emulator.reply.compose_reply` answers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Prompt", "ToolChoice", "ToolSpec"]


@dataclass(slots=True, frozen=True)
class ToolSpec:
    """A tool the caller offers: its name and the JSON schema of its input."""

    name: str
    input_schema: Mapping[str, object]


@dataclass(slots=True, frozen=True)
class ToolChoice:
    """``auto`` (the model decides), ``any`` (some tool must be called) or ``tool`` (this one)."""

    mode: Literal["auto", "any", "tool"] = "auto"
    name: str | None = None


@dataclass(slots=True, frozen=True)
class Prompt:
    """The parts of one request the deterministic reply depends on.

    ``last_user_text`` is the text of the last user message (its text blocks joined by newlines,
    fault markers included); ``tool_results`` the text of each tool result in that message;
    ``input_tokens`` the request's input by the token rule; ``turn`` the number of messages.
    """

    last_user_text: str
    input_tokens: int
    turn: int
    tool_results: tuple[str, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = field(default_factory=ToolChoice)
    max_tokens: int | None = None
    stop_sequences: tuple[str, ...] = ()
