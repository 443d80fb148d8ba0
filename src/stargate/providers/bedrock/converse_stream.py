"""ConverseStream events → canonical stream events: a small state machine.

Bedrock frames arrive as ``(:event-type, JSON payload)``. The machine turns them into the
sequence :mod:`stargate.core.stream` promises:

* ``messageStart`` → :class:`MessageStart` (emitted before anything else, even if Bedrock skipped
  it).
* Text and reasoning blocks have no start event on Bedrock; each begins with its first
  ``contentBlockDelta`` → :class:`TextDelta` / :class:`ReasoningDelta`.
* ``contentBlockStart`` with ``toolUse`` → :class:`ToolUseStart`; its ``input`` string fragments
  → :class:`ToolUseDelta`.
* ``contentBlockStop`` → :class:`BlockStop`; ``messageStop`` → :class:`MessageStop`;
  ``metadata`` → :class:`UsageReport`.
* Bedrock's block indices are renumbered from 0 in order of appearance, so a block the core
  cannot carry (an ``image`` or ``toolResult`` start from a server tool) leaves no gap.
* The ``"p"`` padding member, unknown members, unknown delta kinds (``citation``...) and unknown
  event types are ignored (debug log). A delta that contradicts its block's kind (tool input
  for a text block, say) is :class:`UpstreamBadResponse`.

:meth:`ConverseStreamState.finish` raises :class:`UpstreamBadResponse` ("stream ended early")
when the stream ended before both ``messageStop`` and ``metadata``.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any

from stargate.core import (
    BlockStop,
    MessageStart,
    MessageStop,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolUseDelta,
    ToolUseStart,
    UsageReport,
)
from stargate.errors import UpstreamBadResponse
from stargate.providers.bedrock.converse_response import (
    parse_stop_reason,
    parse_stop_sequence,
    parse_usage,
    require_object,
)

__all__ = ["BlockKind", "ConverseStreamState"]

_log = logging.getLogger(__name__)


class BlockKind(enum.Enum):
    TEXT = "text"
    REASONING = "reasoning"
    TOOL_USE = "tool_use"
    IGNORED = "ignored"


@dataclass(slots=True)
class _Block:
    index: int  # canonical index; -1 for an ignored block
    kind: BlockKind


@dataclass(slots=True)
class ConverseStreamState:
    """Feed it each event with :meth:`feed`; call :meth:`finish` at the end of the body."""

    message_id: str
    model: str
    upstream_request_id: str | None = None
    _started: bool = False
    _blocks: dict[int, _Block] = field(default_factory=dict)
    _next_index: int = 0
    _message_stopped: bool = False
    _usage_reported: bool = False

    @property
    def complete(self) -> bool:
        return self._message_stopped and self._usage_reported

    def feed(self, event_type: str, payload: dict[str, Any]) -> list[StreamEvent]:
        if event_type == "contentBlockDelta" and self._started:
            # Most of a stream: a text delta for a text block already open, read in one step
            # (anything else, or anything malformed, takes the general path, which checks it).
            delta, index = payload.get("delta"), payload.get("contentBlockIndex")
            if type(delta) is dict and type(index) is int:
                text, block = delta.get("text"), self._blocks.get(index)
                if type(text) is str and block is not None and block.kind is BlockKind.TEXT:
                    return [TextDelta(block.index, text)]
        events: list[StreamEvent] = []
        if not self._started:
            self._started = True
            events.append(MessageStart(self.message_id, self.model, self.upstream_request_id))
        match event_type:
            case "messageStart":
                pass
            case "contentBlockStart":
                events.extend(self._on_block_start(payload))
            case "contentBlockDelta":
                events.extend(self._on_block_delta(payload))
            case "contentBlockStop":
                block = self._blocks.get(_block_index(payload))
                if block is not None and block.kind is not BlockKind.IGNORED:
                    events.append(BlockStop(block.index))
            case "messageStop":
                self._message_stopped = True
                events.append(
                    MessageStop(
                        parse_stop_reason(payload.get("stopReason")),
                        parse_stop_sequence(payload.get("additionalModelResponseFields")),
                    )
                )
            case "metadata":
                self._usage_reported = True
                events.append(UsageReport(parse_usage(payload.get("usage"))))
            case _:
                _log.debug("ignoring Bedrock stream event %r", event_type)
        return events

    def finish(self) -> None:
        if not self.complete:
            missing = [
                name
                for name, seen in (
                    ("messageStop", self._message_stopped),
                    ("metadata", self._usage_reported),
                )
                if not seen
            ]
            raise UpstreamBadResponse(
                f"Bedrock stream ended early (no {' or '.join(missing)} received)"
            )

    def _open(self, bedrock_index: int, kind: BlockKind) -> _Block:
        if kind is BlockKind.IGNORED:
            block = _Block(-1, kind)
        else:
            block = _Block(self._next_index, kind)
            self._next_index += 1
        self._blocks[bedrock_index] = block
        return block

    def _on_block_start(self, payload: dict[str, Any]) -> list[StreamEvent]:
        index = _block_index(payload)
        if index in self._blocks:
            raise UpstreamBadResponse(f"Bedrock stream started block {index} twice")
        start = require_object(payload.get("start"), "contentBlockStart.start")
        if "toolUse" in start:
            tool = require_object(start["toolUse"], "contentBlockStart.start.toolUse")
            tool_id, name = tool.get("toolUseId"), tool.get("name")
            if not isinstance(tool_id, str) or not isinstance(name, str):
                raise UpstreamBadResponse("Bedrock stream sent a toolUse start without id or name")
            block = self._open(index, BlockKind.TOOL_USE)
            return [ToolUseStart(block.index, tool_id, name)]
        _log.warning("ignoring a Bedrock stream block the gateway cannot carry: %s", sorted(start))
        self._open(index, BlockKind.IGNORED)
        return []

    def _on_block_delta(self, payload: dict[str, Any]) -> list[StreamEvent]:
        index = _block_index(payload)
        delta = require_object(payload.get("delta"), "contentBlockDelta.delta")
        if "text" in delta:
            block = self._block_for(index, BlockKind.TEXT)
            return [TextDelta(block.index, _string(delta["text"], "delta.text"))]
        if "reasoningContent" in delta:
            reasoning = require_object(delta["reasoningContent"], "delta.reasoningContent")
            piece = _reasoning_piece(reasoning)
            if piece is not None:
                block = self._block_for(index, BlockKind.REASONING)
                return [ReasoningDelta(block.index, *piece)]
        if "toolUse" in delta:
            tool_block = self._blocks.get(index)
            if tool_block is None or tool_block.kind is not BlockKind.TOOL_USE:
                raise UpstreamBadResponse(
                    f"Bedrock stream sent tool input for block {index}, which is not a tool use"
                )
            tool = require_object(delta["toolUse"], "delta.toolUse")
            fragment = _string(tool.get("input", ""), "toolUse.input")
            return [ToolUseDelta(tool_block.index, fragment)]
        if index not in self._blocks:
            self._open(index, BlockKind.IGNORED)
        _log.debug("ignoring Bedrock delta kind %s", sorted(delta))
        return []

    def _block_for(self, index: int, kind: BlockKind) -> _Block:
        block = self._blocks.get(index)
        if block is None:
            return self._open(index, kind)
        if block.kind is not kind:
            raise UpstreamBadResponse(
                f"Bedrock stream sent a {kind.value} delta for a {block.kind.value} block"
            )
        return block


def _block_index(payload: dict[str, Any]) -> int:
    index = payload.get("contentBlockIndex")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise UpstreamBadResponse(f"Bedrock stream sent a malformed contentBlockIndex: {index!r}")
    return index


def _reasoning_piece(reasoning: dict[str, Any]) -> tuple[str, str | None, str | None] | None:
    """``(text, signature, redacted)`` of a reasoning delta; ``None`` for an unknown variant."""
    if "text" in reasoning:
        return _string(reasoning["text"], "reasoningContent.text"), None, None
    if "signature" in reasoning:
        return "", _string(reasoning["signature"], "reasoningContent.signature"), None
    if "redactedContent" in reasoning:
        return "", None, _string(reasoning["redactedContent"], "reasoningContent.redactedContent")
    return None


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise UpstreamBadResponse(f"Bedrock stream sent a malformed {what}: expected a string")
    return value
