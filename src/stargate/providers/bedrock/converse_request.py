"""Canonical request → Converse request body (pure and total).

Choices worth knowing (Bedrock constraints, applied here so callers need not know them):

* Consecutive messages with the same role are merged into one Converse message: Converse requires
  user and assistant turns to alternate (several tool results answering one assistant turn arrive
  from the OpenAI dialect as separate messages).
* Empty system texts are left out: Converse rejects a blank system block.
* A part carrying :class:`~stargate.core.CacheControl` is followed by a ``cachePoint`` block;
  ``ttl`` must be ``"5m"`` or ``"1h"`` (the only values Bedrock takes). A cache mark on content
  inside a tool result puts the ``cachePoint`` after the whole ``toolResult`` block (Converse does
  not allow one inside it).
* ``tool_choice`` ``none`` has no Converse equivalent. The gateway leaves out ``toolChoice`` and
  the tools themselves, so the model cannot call one, except when the conversation already holds
  ``toolUse``/``toolResult`` blocks: Converse rejects those without a ``toolConfig``, so the tools
  stay (with Bedrock's default, ``auto``) and the model may still call one.
* ``request.extra`` becomes ``additionalModelRequestFields`` untouched (``top_k``, ``thinking``...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, assert_never

from stargate.core import (
    CacheControl,
    ChatRequest,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
)
from stargate.errors import InvalidRequest

__all__ = [
    "CACHE_TTLS",
    "IMAGE_FORMATS",
    "render_cache_point",
    "render_converse_request",
    "render_image_format",
]

# Media type → Converse image ``format``.
IMAGE_FORMATS: Mapping[str, str] = MappingProxyType(
    {
        "image/png": "png",
        "image/jpeg": "jpeg",
        "image/jpg": "jpeg",
        "image/gif": "gif",
        "image/webp": "webp",
    }
)
CACHE_TTLS = ("5m", "1h")

Json = dict[str, Any]


def render_converse_request(request: ChatRequest, *, default_max_tokens: int) -> Json:
    """The JSON body of a Converse or ConverseStream call (the model id travels in the URL)."""
    body: Json = {}
    system = _render_system(request.system)
    if system:
        body["system"] = system
    body["messages"] = _render_messages(request.messages)
    body["inferenceConfig"] = _render_inference_config(request, default_max_tokens)
    tool_config = _render_tool_config(request.tools, request.tool_choice, request.messages)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    if request.extra:
        body["additionalModelRequestFields"] = dict(request.extra)
    return body


def render_image_format(media_type: str) -> str:
    fmt = IMAGE_FORMATS.get(media_type.strip().lower())
    if fmt is None:
        raise InvalidRequest(
            f"image type {media_type!r} is not supported by Bedrock; "
            "use image/png, image/jpeg, image/gif or image/webp",
            param="messages",
        )
    return fmt


def render_cache_point(cache: CacheControl) -> Json:
    point: Json = {"type": "default"}
    if cache.ttl is not None:
        if cache.ttl not in CACHE_TTLS:
            raise InvalidRequest(
                f"cache ttl {cache.ttl!r} is not supported by Bedrock; use '5m' or '1h'",
                param="cache_control.ttl",
            )
        point["ttl"] = cache.ttl
    return {"cachePoint": point}


def _render_system(parts: Sequence[TextPart]) -> list[Json]:
    blocks: list[Json] = []
    for part in parts:
        if part.text:
            blocks.append({"text": part.text})
        if part.cache is not None and blocks:
            blocks.append(render_cache_point(part.cache))
    return blocks


def _render_messages(messages: Sequence[Message]) -> list[Json]:
    rendered: list[Json] = []
    for message in messages:
        blocks = _render_content(message.content)
        if rendered and rendered[-1]["role"] == message.role:
            rendered[-1]["content"].extend(blocks)
        else:
            rendered.append({"role": message.role, "content": blocks})
    return rendered


def _render_content(parts: Sequence[ContentPart]) -> list[Json]:
    blocks: list[Json] = []
    for part in parts:
        if type(part) is TextPart:  # most parts: no matching against every kind
            blocks.append({"text": part.text})
            if part.cache is not None:
                blocks.append(render_cache_point(part.cache))
            continue
        blocks.append(_render_part(part))
        cache = _cache_of(part)
        if cache is not None:
            blocks.append(render_cache_point(cache))
    return blocks


def _cache_of(part: ContentPart) -> CacheControl | None:
    match part:
        case ReasoningPart():
            return None
        case ToolResultPart():
            if part.cache is not None:
                return part.cache
            inner = [item.cache for item in part.content if item.cache is not None]
            return inner[-1] if inner else None
        case TextPart() | ImagePart() | DocumentPart() | ToolUsePart():
            return part.cache
        case _:
            assert_never(part)


def _render_part(part: ContentPart) -> Json:
    match part:
        case TextPart() | ImagePart() | DocumentPart():
            return _render_media(part)
        case ToolUsePart():
            return {"toolUse": {"toolUseId": part.id, "name": part.name, "input": part.input}}
        case ToolResultPart():
            return {
                "toolResult": {
                    "toolUseId": part.tool_use_id,
                    "content": [_render_media(item) for item in part.content],
                    "status": "error" if part.is_error else "success",
                }
            }
        case ReasoningPart():
            return {"reasoningContent": _render_reasoning(part)}
        case _:
            assert_never(part)


def _render_media(part: TextPart | ImagePart | DocumentPart) -> Json:
    match part:
        case TextPart():
            return {"text": part.text}
        case ImagePart():
            fmt = render_image_format(part.media_type)
            return {"image": {"format": fmt, "source": {"bytes": part.data}}}
        case DocumentPart():
            return {
                "document": {
                    "format": part.format,
                    "name": part.name,
                    "source": {"bytes": part.data},
                }
            }
        case _:
            assert_never(part)


def _render_reasoning(part: ReasoningPart) -> Json:
    if part.redacted is not None:
        return {"redactedContent": part.redacted}
    text: Json = {"text": part.text}
    if part.signature is not None:
        text["signature"] = part.signature
    return {"reasoningText": text}


def _render_inference_config(request: ChatRequest, default_max_tokens: int) -> Json:
    config: Json = {
        "maxTokens": request.max_tokens if request.max_tokens is not None else default_max_tokens
    }
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.stop:
        config["stopSequences"] = list(request.stop)
    return config


def _render_tool_config(
    tools: Sequence[ToolSpec], choice: ToolChoice | None, messages: Sequence[Message]
) -> Json | None:
    if not tools:
        return None
    if choice is not None and choice.kind == "none" and not _holds_tool_blocks(messages):
        return None
    config: Json = {"tools": [_render_tool(tool) for tool in tools]}
    rendered_choice = _render_tool_choice(choice)
    if rendered_choice is not None:
        config["toolChoice"] = rendered_choice
    return config


def _render_tool(tool: ToolSpec) -> Json:
    spec: Json = {"name": tool.name, "inputSchema": {"json": tool.input_schema}}
    if tool.description:
        spec["description"] = tool.description
    return {"toolSpec": spec}


def _render_tool_choice(choice: ToolChoice | None) -> Json | None:
    if choice is None:
        return None
    match choice.kind:
        case "auto":
            return {"auto": {}}
        case "any":
            return {"any": {}}
        case "tool":
            if not choice.name:
                raise InvalidRequest("tool_choice 'tool' needs a tool name", param="tool_choice")
            return {"tool": {"name": choice.name}}
        case "none":
            return None
        case _:
            assert_never(choice.kind)


def _holds_tool_blocks(messages: Sequence[Message]) -> bool:
    return any(
        isinstance(part, ToolUsePart | ToolResultPart)
        for message in messages
        for part in message.content
    )
