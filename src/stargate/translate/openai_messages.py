"""OpenAI ``messages`` -> canonical system text and alternating user/assistant messages.

* ``system`` and ``developer`` messages, wherever they appear, become :attr:`ChatRequest.system`
  in their order (a system message after the first turn is appended, not placed mid-history).
* ``tool`` messages become :class:`ToolResultPart` s in a user message.
* Empty text is dropped, a message left without content is dropped, and consecutive messages of
  the same canonical role are merged into one (Bedrock requires strict alternation).
"""

from __future__ import annotations

from typing import Any

import orjson

from stargate.core import ContentPart, Message, Role, TextPart, ToolResultPart, ToolUsePart
from stargate.translate.openai_content import parse_text_content, parse_user_content
from stargate.translate.openai_fields import (
    expect_list,
    expect_object,
    expect_str,
    invalid,
    json_type,
)

__all__ = ["parse_messages"]


def parse_messages(value: object) -> tuple[list[TextPart], list[Message]]:
    """Return ``(system, messages)``; raise ``InvalidRequest`` naming the bad field."""
    if value is None:
        raise invalid("messages", "this field is required: a non-empty array of messages.")
    items = expect_list(value, "messages")
    if not items:
        raise invalid("messages", "must contain at least one message.")
    system: list[TextPart] = []
    messages: list[Message] = []
    for index, raw in enumerate(items):
        path = f"messages[{index}]"
        message = expect_object(raw, path)
        match message.get("role"):
            case "system" | "developer":
                system.extend(
                    parse_text_content(
                        _content(message, path), f"{path}.content", allow_refusal=False
                    )
                )
            case "user":
                _append(
                    messages, "user", parse_user_content(_content(message, path), f"{path}.content")
                )
            case "assistant":
                _append(messages, "assistant", _assistant_parts(message, path))
            case "tool":
                _append(messages, "user", [_tool_result(message, path)])
            case "function":
                raise invalid(
                    f"{path}.role",
                    "the legacy 'function' role is not supported; send tool results as "
                    "role 'tool' with a 'tool_call_id'.",
                )
            case other:
                shown = repr(other) if isinstance(other, str) else json_type(other)
                raise invalid(
                    f"{path}.role",
                    f"expected 'system', 'developer', 'user', 'assistant' or 'tool', got {shown}.",
                )
    if not messages:
        raise invalid(
            "messages", "must contain at least one user, assistant or tool message with content."
        )
    return system, messages


def _content(message: dict[str, Any], path: str) -> object:
    if "content" not in message or message["content"] is None:
        raise invalid(f"{path}.content", "this field is required for this role.")
    return message["content"]


def _append(messages: list[Message], role: Role, parts: list[Any]) -> None:
    if not parts:
        return
    if messages and messages[-1].role == role:
        messages[-1].content.extend(parts)
    else:
        messages.append(Message(role, parts))


def _assistant_parts(message: dict[str, Any], path: str) -> list[ContentPart]:
    for legacy in ("function_call", "audio"):
        if message.get(legacy) is not None:
            raise invalid(
                f"{path}.{legacy}",
                f"assistant '{legacy}' is not supported; leave it out or send null.",
            )
    parts: list[ContentPart] = []
    content = message.get("content")
    if content is not None:
        parts.extend(parse_text_content(content, f"{path}.content", allow_refusal=True))
    tool_calls = message.get("tool_calls")
    if tool_calls is not None:
        calls_path = f"{path}.tool_calls"
        for index, raw in enumerate(expect_list(tool_calls, calls_path)):
            parts.append(_tool_use(raw, f"{calls_path}[{index}]"))
    return parts


def _tool_use(raw: object, path: str) -> ToolUsePart:
    call = expect_object(raw, path)
    kind = call.get("type", "function")
    if kind != "function":
        raise invalid(f"{path}.type", f"only 'function' tool calls are supported, got {kind!r}.")
    call_id = expect_str(call.get("id"), f"{path}.id")
    function = expect_object(call.get("function"), f"{path}.function")
    name = expect_str(function.get("name"), f"{path}.function.name")
    return ToolUsePart(id=call_id, name=name, input=_arguments(function.get("arguments"), path))


def _arguments(value: object, path: str) -> dict[str, Any]:
    """The JSON text of the call's arguments, parsed; it must be an object."""
    param = f"{path}.function.arguments"
    if isinstance(value, dict):  # some clients send the object itself
        return value
    text = expect_str(value, param, non_empty=False)
    if not text.strip():  # a call without arguments
        return {}
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise invalid(param, f"must be a JSON object encoded as a string ({exc}).") from exc
    if not isinstance(parsed, dict):
        raise invalid(param, f"must encode a JSON object, got {json_type(parsed)}.")
    return parsed


def _tool_result(message: dict[str, Any], path: str) -> ToolResultPart:
    tool_call_id = expect_str(message.get("tool_call_id"), f"{path}.tool_call_id")
    content = parse_user_content(_content(message, path), f"{path}.content")
    return ToolResultPart(tool_use_id=tool_call_id, content=content)
