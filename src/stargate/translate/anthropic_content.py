"""Anthropic Messages content blocks -> canonical content parts.

Paths in errors follow Anthropic's own style: ``messages.2.content.0.source.type``.

* Images and documents must arrive inline: a ``url`` source is refused (the gateway never fetches
  a URL on a caller's behalf) and so is a ``file`` source (the gateway has no Files API). The
  base64 text is kept as it is, never decoded on the way through.
* A ``text`` document source (plain text) becomes a ``txt`` document, base64-encoded.
* Empty text blocks are dropped (they carry nothing, and Bedrock refuses blank text).
* Blocks of Anthropic's server tools (``server_tool_use``, ``web_search_tool_result``, ...) and
  ``search_result`` blocks are refused: only Claude, on the Messages path, knows them.
* Which block may stand in which role follows Anthropic: ``tool_use``, ``thinking`` and
  ``redacted_thinking`` only in assistant turns; ``image``, ``document`` and ``tool_result``
  only in user turns; ``text`` in both.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from stargate.core import (
    CacheControl,
    ContentPart,
    DocumentPart,
    ImagePart,
    ReasoningPart,
    Role,
    TextPart,
    ToolResultPart,
    ToolUsePart,
)
from stargate.translate.openai_fields import (
    expect_bool,
    expect_list,
    expect_object,
    expect_str,
    invalid,
    json_type,
)

__all__ = [
    "CACHE_TTLS",
    "IMAGE_MEDIA_TYPES",
    "SERVER_BLOCK_TYPES",
    "parse_blocks",
    "parse_cache_control",
    "parse_text_blocks",
]

CACHE_TTLS = ("5m", "1h")
IMAGE_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
SERVER_BLOCK_TYPES = frozenset(
    {
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
        "container_upload",
    }
)

_USER_BLOCKS = frozenset({"text", "image", "document", "tool_result"})
_ASSISTANT_BLOCKS = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})
_TOOL_RESULT_BLOCKS = frozenset({"text", "image", "document"})
# Converse document names: letters, digits, single spaces, hyphens, parentheses, brackets.
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9\-()\[\] ]+")

InputPart = TextPart | ImagePart | DocumentPart


def parse_cache_control(value: object, param: str) -> CacheControl | None:
    """``{"type": "ephemeral", "ttl"?: "5m" | "1h"}`` -> :class:`CacheControl`; ``null`` -> None."""
    if value is None:
        return None
    cache = expect_object(value, param)
    if cache.get("type") != "ephemeral":
        raise invalid(f"{param}.type", f"expected 'ephemeral', got {_shown(cache.get('type'))}.")
    ttl = cache.get("ttl")
    if ttl is None:
        return CacheControl()
    if ttl not in CACHE_TTLS:
        raise invalid(f"{param}.ttl", f"expected '5m' or '1h', got {_shown(ttl)}.")
    return CacheControl(ttl=ttl)


def parse_text_blocks(value: object, param: str) -> list[TextPart]:
    """Content that may only hold text (``system``, a ``role: "system"`` message): a string or
    an array of ``text`` blocks."""
    if isinstance(value, str):
        return [TextPart(value)] if value else []
    parts: list[TextPart] = []
    for index, raw in enumerate(_block_list(value, param)):
        path = f"{param}.{index}"
        block = expect_object(raw, path)
        kind = block.get("type")
        if kind != "text":
            raise invalid(f"{path}.type", f"expected 'text', got {_shown(kind)}.")
        part = _text(block, path)
        if part is not None:
            parts.append(part)
    return parts


def parse_blocks(value: object, param: str, role: Role) -> list[ContentPart]:
    """A user or assistant message's ``content``: a string or an array of blocks."""
    if isinstance(value, str):
        return [TextPart(value)] if value else []
    allowed = _USER_BLOCKS if role == "user" else _ASSISTANT_BLOCKS
    parts: list[ContentPart] = []
    for index, raw in enumerate(_block_list(value, param)):
        path = f"{param}.{index}"
        block = expect_object(raw, path)
        kind = block.get("type")
        _check_kind(kind, allowed, f"{path}.type", f"{role} messages")
        part = _block(block, path)
        if part is not None:
            parts.append(part)
    return parts


def _block(block: dict[str, Any], path: str) -> ContentPart | None:
    match block["type"]:
        case "text":
            return _text(block, path)
        case "image":
            return _image(block, path)
        case "document":
            return _document(block, path)
        case "tool_result":
            return _tool_result(block, path)
        case "tool_use":
            return _tool_use(block, path)
        case "thinking":
            thinking = expect_str(block.get("thinking"), f"{path}.thinking", non_empty=False)
            signature = block.get("signature")
            if signature is not None:
                signature = expect_str(signature, f"{path}.signature", non_empty=False)
            return ReasoningPart(text=thinking, signature=signature or None)
        case "redacted_thinking":
            return ReasoningPart(redacted=expect_str(block.get("data"), f"{path}.data"))
        case other:  # _check_kind let only the kinds above through
            raise invalid(f"{path}.type", f"unexpected block type {_shown(other)}.")


def _check_kind(kind: object, allowed: frozenset[str], param: str, where: str) -> None:
    if isinstance(kind, str) and kind in allowed:
        return
    if kind in SERVER_BLOCK_TYPES or kind == "search_result":
        raise invalid(
            param,
            f"{kind!r} blocks belong to Anthropic's server-side tools, which only Claude models "
            "provide; this model cannot take them.",
        )
    known = _USER_BLOCKS | _ASSISTANT_BLOCKS
    if isinstance(kind, str) and kind in known:
        raise invalid(param, f"{kind!r} blocks are not allowed in {where}.")
    names = ", ".join(f"'{name}'" for name in sorted(allowed))
    raise invalid(param, f"expected one of {names}, got {_shown(kind)}.")


def _text(block: dict[str, Any], path: str) -> TextPart | None:
    text = expect_str(block.get("text"), f"{path}.text", non_empty=False)
    cache = parse_cache_control(block.get("cache_control"), f"{path}.cache_control")
    return TextPart(text, cache) if text else None


def _image(block: dict[str, Any], path: str) -> ImagePart:
    source = expect_object(block.get("source"), f"{path}.source")
    _inline_source(source, f"{path}.source", ("base64",))
    media_type = expect_str(source.get("media_type"), f"{path}.source.media_type").lower()
    if media_type not in IMAGE_MEDIA_TYPES:
        raise invalid(
            f"{path}.source.media_type",
            f"unsupported image type {media_type!r}; send image/png, image/jpeg, image/gif or "
            "image/webp.",
        )
    data = expect_str(source.get("data"), f"{path}.source.data")
    cache = parse_cache_control(block.get("cache_control"), f"{path}.cache_control")
    return ImagePart(media_type=media_type, data=data, cache=cache)


def _document(block: dict[str, Any], path: str) -> DocumentPart:
    source = expect_object(block.get("source"), f"{path}.source")
    kind = _inline_source(source, f"{path}.source", ("base64", "text"))
    media_type = expect_str(source.get("media_type"), f"{path}.source.media_type").lower()
    data = expect_str(source.get("data"), f"{path}.source.data", non_empty=False)
    if kind == "base64":
        if media_type != "application/pdf":
            raise invalid(
                f"{path}.source.media_type",
                f"a base64 document must be application/pdf, got {media_type!r}.",
            )
        if not data:
            raise invalid(f"{path}.source.data", "must not be an empty string.")
        fmt, encoded = "pdf", data
    else:
        if media_type != "text/plain":
            raise invalid(
                f"{path}.source.media_type",
                f"a text document must be text/plain, got {media_type!r}.",
            )
        fmt, encoded = "txt", base64.b64encode(data.encode("utf-8")).decode("ascii")
    title = block.get("title")
    if title is not None:
        title = expect_str(title, f"{path}.title", non_empty=False)
    cache = parse_cache_control(block.get("cache_control"), f"{path}.cache_control")
    return DocumentPart(name=_document_name(title, path), format=fmt, data=encoded, cache=cache)


def _document_name(title: str | None, path: str) -> str:
    """A name Converse accepts: the title with unsafe characters replaced, else one made from
    the block's path (unique within the request)."""
    if title:
        name = " ".join(_NAME_UNSAFE.sub(" ", title).split())
        if name:
            return name[:200]
    return "document " + path.replace(".", " ")


def _inline_source(source: dict[str, Any], param: str, accepted: tuple[str, ...]) -> str:
    kind = source.get("type")
    if isinstance(kind, str) and kind in accepted:
        return kind
    if kind == "url":
        raise invalid(
            f"{param}.type",
            "URL sources are not accepted: the gateway does not fetch URLs. Download the file "
            "and send it inline as a base64 source.",
        )
    if kind == "file":
        raise invalid(
            f"{param}.type",
            "file sources are not accepted: the gateway has no Files API. Send the file inline "
            "as a base64 source.",
        )
    names = " or ".join(f"'{name}'" for name in accepted)
    raise invalid(f"{param}.type", f"expected {names}, got {_shown(kind)}.")


def _tool_use(block: dict[str, Any], path: str) -> ToolUsePart:
    tool_id = expect_str(block.get("id"), f"{path}.id")
    name = expect_str(block.get("name"), f"{path}.name")
    arguments = expect_object(block.get("input"), f"{path}.input")
    cache = parse_cache_control(block.get("cache_control"), f"{path}.cache_control")
    return ToolUsePart(id=tool_id, name=name, input=arguments, cache=cache)


def _tool_result(block: dict[str, Any], path: str) -> ToolResultPart:
    tool_use_id = expect_str(block.get("tool_use_id"), f"{path}.tool_use_id")
    is_error = block.get("is_error")
    cache = parse_cache_control(block.get("cache_control"), f"{path}.cache_control")
    return ToolResultPart(
        tool_use_id=tool_use_id,
        content=_tool_result_content(block.get("content"), f"{path}.content"),
        is_error=False if is_error is None else expect_bool(is_error, f"{path}.is_error"),
        cache=cache,
    )


def _tool_result_content(value: object, param: str) -> list[InputPart]:
    if value is None:
        return []
    if isinstance(value, str):
        return [TextPart(value)] if value else []
    parts: list[InputPart] = []
    for index, raw in enumerate(_block_list(value, param)):
        path = f"{param}.{index}"
        block = expect_object(raw, path)
        kind = block.get("type")
        _check_kind(kind, _TOOL_RESULT_BLOCKS, f"{path}.type", "tool results")
        part: InputPart | None
        match kind:
            case "text":
                part = _text(block, path)
            case "image":
                part = _image(block, path)
            case _:
                part = _document(block, path)
        if part is not None:
            parts.append(part)
    return parts


def _block_list(value: object, param: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(
            param, f"expected a string or an array of content blocks, got {json_type(value)}."
        )
    return expect_list(value, param)


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else json_type(value)
