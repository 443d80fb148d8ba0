"""Canonical types shared by every dialect and provider."""

from stargate.core.content import (
    CacheControl,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    ReasoningPart,
    Role,
    TextPart,
    ToolResultPart,
    ToolUsePart,
)
from stargate.core.money import MicroUSD, micro_to_usd, usd_to_micro
from stargate.core.request import ChatRequest, ToolChoice, ToolSpec
from stargate.core.response import ChatResponse, StopReason
from stargate.core.stream import (
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
from stargate.core.usage import Usage

__all__ = [
    "BlockStop",
    "CacheControl",
    "ChatRequest",
    "ChatResponse",
    "ContentPart",
    "DocumentPart",
    "ImagePart",
    "Message",
    "MessageStart",
    "MessageStop",
    "MicroUSD",
    "ReasoningDelta",
    "ReasoningPart",
    "Role",
    "StopReason",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "ToolChoice",
    "ToolResultPart",
    "ToolSpec",
    "ToolUseDelta",
    "ToolUsePart",
    "ToolUseStart",
    "Usage",
    "UsageReport",
    "micro_to_usd",
    "usd_to_micro",
]
