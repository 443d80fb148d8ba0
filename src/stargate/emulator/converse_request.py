"""Parse and check a Converse / ConverseStream request body into a :class:`Prompt`.

Input characters for the token rule (:mod:`stargate.emulator.tokens`) are the sum over:

- ``system``: each ``text`` block's length; ``guardContent`` as compact JSON;
- every message's content blocks: ``text`` its length; ``toolUse`` its name plus compact JSON
  input; ``toolResult`` each item's text, or compact JSON of ``json`` items, media items as below;
  ``image``/``document``/``video``/``audio`` 1600 characters each; ``reasoningContent`` its
  reasoning text (or the redacted blob's length); ``cachePoint`` nothing; any other block its
  value as compact JSON;
- ``toolConfig.tools``: each ``toolSpec``'s name, description and compact JSON input schema; a
  ``systemTool`` its name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from stargate.emulator.errors import BedrockError, validation_error
from stargate.emulator.models import ResolvedModel
from stargate.emulator.prompt import Prompt, ToolChoice, ToolSpec
from stargate.emulator.tokens import MEDIA_BLOCK_CHARS, compact_json, json_chars, tokens_for_chars

__all__ = ["ConverseRequest", "parse_converse_request"]

_MEDIA = frozenset({"image", "document", "video", "audio"})
_CONTENT_BLOCKS = frozenset(
    {
        "text", "image", "document", "video", "audio", "toolUse", "toolResult", "guardContent",
        "cachePoint", "reasoningContent", "citationsContent", "searchResult", "toolAddition",
        "toolRemoval",
    }
)  # fmt: skip
_TOOL_RESULT_ITEMS = frozenset({"json", "text", "image", "document", "video", "searchResult"})
_SYSTEM_BLOCKS = frozenset({"text", "guardContent", "cachePoint"})
_TOOL_ENTRIES = frozenset({"toolSpec", "systemTool", "cachePoint"})
_START_WITH_USER = (
    "A conversation must start with a user message. "
    "Try again with a conversation that starts with a user message."
)
_ALTERNATE = (
    "A conversation must alternate between user and assistant roles. "
    "Make sure the conversation alternates between user and assistant roles and try again."
)


@dataclass(slots=True, frozen=True)
class ConverseRequest:
    """A checked Converse request: its prompt and the response field paths it asks for."""

    prompt: Prompt
    response_field_paths: tuple[str, ...]


def _constraint(value: object, where: str, constraint: str) -> BedrockError:
    shown = (
        "null" if value is None else compact_json(value) if not isinstance(value, str) else value
    )
    return validation_error(
        f"1 validation error detected: Value '{shown}' at '{where}' failed to satisfy "
        f"constraint: {constraint}"
    )


def _block_key(
    block: object, where: str, allowed: frozenset[str] = _CONTENT_BLOCKS
) -> tuple[str, object]:
    if not isinstance(block, Mapping) or len(block) != 1:
        raise validation_error(f"The block at {where} must set exactly one member.")
    key, value = next(iter(block.items()))
    if key not in allowed:
        raise validation_error(f"The block at {where} has an unknown member {key!r}.")
    return str(key), value


def _tool_result_chars(value: object, where: str) -> tuple[int, str]:
    if not isinstance(value, Mapping) or not isinstance(value.get("content"), list):
        raise validation_error(f"The toolResult at {where} must have a content list.")
    chars, texts = 0, []
    for index, item in enumerate(value["content"]):
        key, inner = _block_key(item, f"{where}.content.{index}", _TOOL_RESULT_ITEMS)
        if key == "text" and isinstance(inner, str):
            chars += len(inner)
            texts.append(inner)
        elif key == "json":
            chars += json_chars(inner)
            texts.append(compact_json(inner))
        elif key in _MEDIA:
            chars += MEDIA_BLOCK_CHARS
        else:
            chars += json_chars(inner)
    return chars, " ".join(texts)


def _block_chars(key: str, value: object) -> int:
    if key == "text" and isinstance(value, str):
        return len(value)
    if key in _MEDIA:
        return MEDIA_BLOCK_CHARS
    if key == "cachePoint":
        return 0
    if key == "toolUse" and isinstance(value, Mapping):
        return len(str(value.get("name", ""))) + json_chars(value.get("input"))
    if key == "reasoningContent" and isinstance(value, Mapping):
        reasoning = value.get("reasoningText")
        if isinstance(reasoning, Mapping):
            return len(str(reasoning.get("text", "")))
        return len(str(value.get("redactedContent", "")))
    return json_chars(value)


@dataclass(slots=True)
class _Conversation:
    chars: int = 0
    last_user_text: str = ""
    tool_results: tuple[str, ...] = ()
    uses_tools: bool = False


def _read_messages(messages: object) -> _Conversation:
    if not isinstance(messages, list) or not messages:
        raise _constraint(
            messages, "messages", "Member must have length greater than or equal to 1"
        )
    conversation = _Conversation()
    previous_role = None
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, Mapping) else None
        content = message.get("content") if isinstance(message, Mapping) else None
        if role not in ("user", "assistant") or not isinstance(content, list):
            raise _constraint(role, f"messages.{index}.role", "Member must satisfy enum value set")
        if index == 0 and role != "user":
            raise validation_error(_START_WITH_USER)
        if role == previous_role:
            raise validation_error(_ALTERNATE)
        previous_role = role
        texts: list[str] = []
        results: list[str] = []
        for position, block in enumerate(content):
            where = f"messages.{index}.content.{position}"
            key, value = _block_key(block, where)
            if key == "toolResult":
                chars, text = _tool_result_chars(value, where)
                conversation.chars += chars
                results.append(text)
            else:
                conversation.chars += _block_chars(key, value)
            if key in ("toolUse", "toolResult"):
                conversation.uses_tools = True
            if key == "text" and isinstance(value, str):
                texts.append(value)
        if role == "user":
            conversation.last_user_text = "\n".join(texts)
            conversation.tool_results = tuple(results)
    return conversation


def _read_system(system: object) -> int:
    if system is None:
        return 0
    if not isinstance(system, list):
        raise _constraint(system, "system", "Member must be a list")
    chars = 0
    for index, block in enumerate(system):
        key, value = _block_key(block, f"system.{index}", _SYSTEM_BLOCKS)
        chars += _block_chars(key, value)
    return chars


def _read_tools(
    config: object, model: ResolvedModel
) -> tuple[tuple[ToolSpec, ...], ToolChoice, int]:
    if config is None:
        return (), ToolChoice(), 0
    if not model.spec.tool_use:
        raise validation_error("This model doesn't support tool use.")
    if not isinstance(config, Mapping):
        raise _constraint(config, "toolConfig", "Member must be a structure")
    tools = config.get("tools")
    if not isinstance(tools, list) or not tools:
        raise _constraint(
            tools, "toolConfig.tools", "Member must have length greater than or equal to 1"
        )
    specs: list[ToolSpec] = []
    chars = 0
    for index, entry in enumerate(tools):
        key, value = _block_key(entry, f"toolConfig.tools.{index}", _TOOL_ENTRIES)
        if key == "toolSpec" and isinstance(value, Mapping):
            name = value.get("name")
            schema = value.get("inputSchema")
            schema_json = schema.get("json") if isinstance(schema, Mapping) else None
            if not isinstance(name, str) or not isinstance(schema_json, Mapping):
                raise validation_error(
                    f"The toolSpec at toolConfig.tools.{index} needs a name and inputSchema.json."
                )
            specs.append(ToolSpec(name, schema_json))
            chars += len(name) + len(str(value.get("description", ""))) + json_chars(schema_json)
        elif key == "systemTool" and isinstance(value, Mapping):
            chars += len(str(value.get("name", "")))
    return tuple(specs), _read_tool_choice(config.get("toolChoice"), specs), chars


def _read_tool_choice(choice: object, specs: Sequence[ToolSpec]) -> ToolChoice:
    if choice is None:
        return ToolChoice()
    if isinstance(choice, Mapping) and len(choice) == 1:
        if "auto" in choice:
            return ToolChoice()
        if "any" in choice:
            return ToolChoice("any")
        chosen = choice.get("tool")
        name = chosen.get("name") if isinstance(chosen, Mapping) else None
        if isinstance(name, str) and any(spec.name == name for spec in specs):
            return ToolChoice("tool", name)
        raise validation_error(f"The tool {name!r} named in toolChoice is not in toolConfig.tools.")
    raise validation_error("toolChoice must set exactly one of auto, any or tool.")


def _read_inference(config: object) -> tuple[int | None, tuple[str, ...]]:
    if config is None:
        return None, ()
    if not isinstance(config, Mapping):
        raise _constraint(config, "inferenceConfig", "Member must be a structure")
    max_tokens = config.get("maxTokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise _constraint(
            max_tokens,
            "inferenceConfig.maxTokens",
            "Member must have value greater than or equal to 1",
        )
    stops = config.get("stopSequences", [])
    if not isinstance(stops, list) or not all(isinstance(stop, str) for stop in stops):
        raise _constraint(
            stops, "inferenceConfig.stopSequences", "Member must be a list of strings"
        )
    return max_tokens, tuple(stops)


def parse_converse_request(body: bytes, model: ResolvedModel) -> ConverseRequest:
    """Check a Converse body as Bedrock does (the parts the emulator reads) and parse it."""
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise BedrockError(
            "SerializationException", 400, "The request body is not valid JSON."
        ) from None
    if not isinstance(data, Mapping):
        raise BedrockError("SerializationException", 400, "The request body must be a JSON object.")
    conversation = _read_messages(data.get("messages"))
    tools, choice, tool_chars = _read_tools(data.get("toolConfig"), model)
    if conversation.uses_tools and data.get("toolConfig") is None:
        raise validation_error(
            "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        )
    max_tokens, stops = _read_inference(data.get("inferenceConfig"))
    paths = data.get("additionalModelResponseFieldPaths", [])
    chars = conversation.chars + _read_system(data.get("system")) + tool_chars
    prompt = Prompt(
        last_user_text=conversation.last_user_text,
        input_tokens=tokens_for_chars(chars),
        turn=len(data["messages"]),
        tool_results=conversation.tool_results,
        tools=tools,
        tool_choice=choice,
        max_tokens=max_tokens,
        stop_sequences=stops,
    )
    response_paths = (
        tuple(path for path in paths if isinstance(path, str)) if isinstance(paths, list) else ()
    )
    return ConverseRequest(prompt, response_paths)
