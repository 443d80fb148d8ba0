"""The canonical chat request, whatever dialect it arrived in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from stargate.core.content import Message, TextPart

__all__ = ["ChatRequest", "ToolChoice", "ToolSpec"]


@dataclass(slots=True)
class ToolSpec:
    name: str
    description: str | None
    input_schema: dict[str, Any]


@dataclass(slots=True, frozen=True)
class ToolChoice:
    """``auto``: the model decides; ``any``: it must call some tool; ``tool``: it must call
    ``name``; ``none``: it must not call a tool."""

    kind: Literal["auto", "any", "tool", "none"]
    name: str | None = None


@dataclass(slots=True)
class ChatRequest:
    """One chat turn to run.

    ``model`` is the logical name the caller asked for; routing resolves it to a deployment.
    ``max_tokens`` is ``None`` when the caller gave no limit (the deployment's default applies).
    ``extra`` holds provider-specific fields passed through untouched (for Bedrock,
    ``additionalModelRequestFields`` such as ``top_k`` or ``thinking``).
    """

    model: str
    messages: list[Message]
    system: list[TextPart] = field(default_factory=list)
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    stream: bool = False
    user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
