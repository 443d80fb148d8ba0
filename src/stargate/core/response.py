"""The canonical chat response and stop reasons."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from stargate.core.content import ContentPart
from stargate.core.usage import Usage

__all__ = ["ChatResponse", "StopReason"]


class StopReason(enum.Enum):
    """Why the model stopped. Providers map their own values here, totally and loudly."""

    END_TURN = "end_turn"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    TOOL_USE = "tool_use"
    CONTENT_FILTERED = "content_filtered"
    CONTEXT_WINDOW_EXCEEDED = "model_context_window_exceeded"
    PAUSE_TURN = "pause_turn"
    REFUSAL = "refusal"


@dataclass(slots=True)
class ChatResponse:
    id: str
    model: str
    content: list[ContentPart]
    stop_reason: StopReason
    usage: Usage
    stop_sequence: str | None = None
    upstream_request_id: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
