"""Canonical stream events.

A provider's stream yields these in order: one :class:`MessageStart`; for each content block
(indexed from 0, in order) its start or first delta, more deltas, then :class:`BlockStop`; then
:class:`MessageStop` and, last, one :class:`UsageReport`. Text and reasoning blocks begin with
their first delta; tool-use blocks begin with :class:`ToolUseStart`. A failure mid-stream is an
exception (a :class:`stargate.errors.StargateError`) raised from the iterator, never an event.
"""

from __future__ import annotations

from dataclasses import dataclass

from stargate.core.response import StopReason
from stargate.core.usage import Usage

__all__ = [
    "BlockStop",
    "MessageStart",
    "MessageStop",
    "ReasoningDelta",
    "StreamEvent",
    "TextDelta",
    "ToolUseDelta",
    "ToolUseStart",
    "UsageReport",
]


@dataclass(slots=True, frozen=True)
class MessageStart:
    id: str
    model: str
    upstream_request_id: str | None = None


@dataclass(slots=True, frozen=True)
class TextDelta:
    index: int
    text: str


@dataclass(slots=True, frozen=True)
class ReasoningDelta:
    """A piece of reasoning: ``text``, or the block's ``signature``, or ``redacted`` content."""

    index: int
    text: str = ""
    signature: str | None = None
    redacted: str | None = None


@dataclass(slots=True, frozen=True)
class ToolUseStart:
    index: int
    id: str
    name: str


@dataclass(slots=True, frozen=True)
class ToolUseDelta:
    """A fragment of the tool input's JSON text; fragments concatenate to the whole object."""

    index: int
    partial_json: str


@dataclass(slots=True, frozen=True)
class BlockStop:
    index: int


@dataclass(slots=True, frozen=True)
class MessageStop:
    stop_reason: StopReason
    stop_sequence: str | None = None


@dataclass(slots=True, frozen=True)
class UsageReport:
    usage: Usage


StreamEvent = (
    MessageStart
    | TextDelta
    | ReasoningDelta
    | ToolUseStart
    | ToolUseDelta
    | BlockStop
    | MessageStop
    | UsageReport
)
