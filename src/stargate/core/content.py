"""Canonical message content: what every dialect and every provider translates to and from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CacheControl",
    "ContentPart",
    "DocumentPart",
    "ImagePart",
    "Message",
    "ReasoningPart",
    "Role",
    "TextPart",
    "ToolResultPart",
    "ToolUsePart",
]

Role = Literal["user", "assistant"]


@dataclass(slots=True, frozen=True)
class CacheControl:
    """A prompt-cache breakpoint placed after the part that carries it.

    ``ttl`` is ``None`` (the provider default, five minutes) or a duration such as ``"1h"``.
    """

    ttl: str | None = None


@dataclass(slots=True)
class TextPart:
    text: str
    cache: CacheControl | None = None


@dataclass(slots=True)
class ImagePart:
    """An inline image. ``data`` is base64 (never decoded on the way through)."""

    media_type: str  # "image/png", "image/jpeg", "image/gif", "image/webp"
    data: str
    cache: CacheControl | None = None


@dataclass(slots=True)
class DocumentPart:
    """An inline document. ``data`` is base64; ``format`` is e.g. ``"pdf"``, ``"txt"``."""

    name: str
    format: str
    data: str
    cache: CacheControl | None = None


@dataclass(slots=True)
class ToolUsePart:
    """The model asked for a tool. ``input`` is the parsed JSON object of the arguments."""

    id: str
    name: str
    input: dict[str, Any]
    cache: CacheControl | None = None


@dataclass(slots=True)
class ToolResultPart:
    """The caller's answer to a tool use."""

    tool_use_id: str
    content: list[TextPart | ImagePart | DocumentPart]
    is_error: bool = False
    cache: CacheControl | None = None


@dataclass(slots=True)
class ReasoningPart:
    """Model reasoning ("thinking"). Either ``text`` (+ ``signature``) or ``redacted`` (base64)."""

    text: str = ""
    signature: str | None = None
    redacted: str | None = None


ContentPart = TextPart | ImagePart | DocumentPart | ToolUsePart | ToolResultPart | ReasoningPart


@dataclass(slots=True)
class Message:
    role: Role
    content: list[ContentPart] = field(default_factory=list)
