"""A local estimate of a request's input tokens, for when the upstream cannot count them.

The estimate must never undercount (a budget or context check that trusts it must not be
fooled), so every rule errs high against Anthropic's tokenizer:

* **Prose**: one token per 3.5 ASCII characters, rounded up (Anthropic's own rule of thumb is
  3.5 English characters per token; the emulator and many estimators use 4), plus one token per
  non-ASCII character (CJK, accents, emoji: Claude spends about one token or more on each).
* **JSON** (tool inputs, tool schemas, unknown blocks): one token per 3 characters, because
  punctuation-dense text packs fewer characters per token.
* **Framing**: 8 tokens per request, 5 per message, 3 per content block, 8 per tool, 4 for a
  system prompt, and Anthropic's tool-use system prompt (346 tokens) whenever tools are given.
* **Images**: a flat 1600 tokens each: Anthropic charges ``width * height / 750`` and resizes
  anything larger than about 1.15 megapixels, which caps an image near 1600 tokens.
* **PDFs**: 4600 tokens per page (Anthropic: 1500 to 3000 text tokens per page plus the page as
  an image). Pages are counted from the page objects in the file, inside compressed object
  streams too; a file whose pages cannot be found counts one page per 10 kB.
* **Thinking** blocks in the history are counted although Anthropic drops most of them.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any, assert_never

import orjson

from stargate.core import (
    ChatRequest,
    ContentPart,
    DocumentPart,
    ImagePart,
    ReasoningPart,
    TextPart,
    ToolResultPart,
    ToolUsePart,
)

__all__ = [
    "IMAGE_TOKENS",
    "PDF_PAGE_TOKENS",
    "TOOL_USE_SYSTEM_TOKENS",
    "estimate_input_tokens",
    "estimate_request_tokens",
    "json_tokens",
    "pdf_pages",
    "text_tokens",
]

IMAGE_TOKENS = 1600
PDF_PAGE_TOKENS = 4600
PDF_BYTES_PER_PAGE = 10_000
TOOL_USE_SYSTEM_TOKENS = 346
REQUEST_TOKENS = 8
MESSAGE_TOKENS = 5
BLOCK_TOKENS = 3
TOOL_TOKENS = 8
SYSTEM_TOKENS = 4

_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_STREAM = re.compile(rb"stream\r?\n")
_MAX_INFLATED = 64 * 1024 * 1024  # per stream; page dictionaries are small


def text_tokens(text: str) -> int:
    """Prose: ceil(ASCII characters / 3.5) plus one per non-ASCII character."""
    if text.isascii():
        return -(-len(text) * 2 // 7)  # the exact ceiling, in integers
    ascii_chars = len(text.encode("ascii", "ignore"))
    return -(-ascii_chars * 2 // 7) + (len(text) - ascii_chars)


def json_tokens(value: object) -> int:
    """JSON text: ceil(characters / 3) plus one per non-ASCII character."""
    data = orjson.dumps(value)
    if data.isascii():
        return math.ceil(len(data) / 3)
    text = data.decode()
    ascii_chars = len(text.encode("ascii", "ignore"))
    return math.ceil(ascii_chars / 3) + (len(text) - ascii_chars)


def pdf_pages(data: bytes) -> int:
    """The pages of a PDF: page objects in the file or its compressed streams, else by size."""
    pages = len(_PAGE.findall(data))
    if pages:
        return pages
    for match in _STREAM.finditer(data):
        start = match.start()
        if data[max(0, start - 3) : start] == b"end":
            continue
        end = data.find(b"endstream", match.end())
        if end < 0:
            break
        try:
            inflated = zlib.decompressobj().decompress(data[match.end() : end], _MAX_INFLATED)
        except zlib.error:
            continue
        pages += len(_PAGE.findall(inflated))
    return pages or max(1, math.ceil(len(data) / PDF_BYTES_PER_PAGE))


# --- the Messages body ------------------------------------------------------------------------


def estimate_input_tokens(body: Mapping[str, Any]) -> int:
    """An estimate, never an undercount, of the input tokens of an Anthropic Messages body
    (``system``, ``messages`` and ``tools``; other members cost nothing). Malformed parts are
    estimated from their JSON rather than refused."""
    total = REQUEST_TOKENS
    system = body.get("system")
    if system:
        total += SYSTEM_TOKENS + _content_tokens(system)
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            total += MESSAGE_TOKENS
            if isinstance(message, dict):
                total += _content_tokens(message.get("content"))
            else:
                total += json_tokens(message)
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        total += TOOL_USE_SYSTEM_TOKENS + TOOL_TOKENS * len(tools)
        for tool in tools:
            total += json_tokens(tool)
    return total


def _content_tokens(content: object) -> int:
    if isinstance(content, str):
        return text_tokens(content)
    if isinstance(content, list):
        total = BLOCK_TOKENS * len(content)
        for block in content:
            total += _block_tokens(block)
        return total
    return 0 if content is None else json_tokens(content)


def _block_tokens(block: object) -> int:
    if not isinstance(block, dict):
        return json_tokens(block)
    match block.get("type"):
        case "text" if isinstance(block.get("text"), str):
            return text_tokens(block["text"])
        case "image":
            return IMAGE_TOKENS
        case "document":
            return _document_block_tokens(block)
        case "tool_use":
            return text_tokens(str(block.get("name", ""))) + json_tokens(block.get("input"))
        case "tool_result":
            return _content_tokens(block.get("content"))
        case "thinking" if isinstance(block.get("thinking"), str):
            return text_tokens(block["thinking"])
        case "redacted_thinking" if isinstance(block.get("data"), str):
            return text_tokens(block["data"])
        case _:
            return json_tokens(block)


def _document_block_tokens(block: dict[str, Any]) -> int:
    source = block.get("source")
    if not isinstance(source, dict):
        return json_tokens(block)
    data = source.get("data")
    match source.get("type"):
        case "text" if isinstance(data, str):
            return text_tokens(data)
        case "base64" if isinstance(data, str):
            return _base64_document_tokens(data, "pdf")
        case "content":
            return _content_tokens(source.get("content"))
        case _:
            return json_tokens(block)


def _base64_document_tokens(data: str, fmt: str) -> int:
    try:
        raw = base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return text_tokens(data)
    if fmt == "pdf":
        return PDF_PAGE_TOKENS * pdf_pages(raw)
    return text_tokens(raw.decode("utf-8", "replace"))


# --- the canonical request --------------------------------------------------------------------


def estimate_request_tokens(request: ChatRequest) -> int:
    """The same estimate over a canonical request (for providers without a token counter)."""
    total = REQUEST_TOKENS
    if request.system:
        total += SYSTEM_TOKENS + _parts_tokens(request.system)
    for message in request.messages:
        total += MESSAGE_TOKENS + _parts_tokens(message.content)
    if request.tools:
        total += TOOL_USE_SYSTEM_TOKENS
        for tool in request.tools:
            total += TOOL_TOKENS + text_tokens(tool.name) + json_tokens(tool.input_schema)
            total += text_tokens(tool.description or "")
    return total


def _parts_tokens(parts: Iterable[ContentPart]) -> int:
    total = 0
    for part in parts:  # a plain loop, and text (the usual part) without the match
        if type(part) is TextPart:
            total += BLOCK_TOKENS + text_tokens(part.text)
        else:
            total += BLOCK_TOKENS + _part_tokens(part)
    return total


def _part_tokens(part: ContentPart) -> int:
    match part:
        case TextPart(text=text):
            return text_tokens(text)
        case ImagePart():
            return IMAGE_TOKENS
        case DocumentPart(format=fmt, data=data):
            return _base64_document_tokens(data, fmt)
        case ToolUsePart(name=name, input=arguments):
            return text_tokens(name) + json_tokens(arguments)
        case ToolResultPart(content=content):
            return _parts_tokens(content)
        case ReasoningPart(text=text, redacted=redacted):
            return text_tokens(text) + text_tokens(redacted or "")
        case unreachable:
            assert_never(unreachable)
