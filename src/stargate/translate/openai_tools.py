"""OpenAI ``tools`` and ``tool_choice`` -> canonical :class:`ToolSpec` s and :class:`ToolChoice`."""

from __future__ import annotations

from typing import Any

from stargate.core import ToolChoice, ToolSpec
from stargate.translate.openai_fields import expect_list, expect_object, expect_str, invalid

__all__ = ["parse_tool_choice", "parse_tools"]

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_NAME_MAX = 64


def parse_tools(value: object) -> list[ToolSpec]:
    """Function tools. A tool without ``parameters`` takes no arguments; ``strict`` is ignored."""
    specs: list[ToolSpec] = []
    seen: set[str] = set()
    for index, raw in enumerate(expect_list(value, "tools")):
        path = f"tools[{index}]"
        tool = expect_object(raw, path)
        kind = tool.get("type")
        if kind != "function":
            shown = repr(kind) if isinstance(kind, str) else "nothing"
            raise invalid(f"{path}.type", f"only 'function' tools are supported, got {shown}.")
        function = expect_object(tool.get("function"), f"{path}.function")
        name = _tool_name(function.get("name"), f"{path}.function.name")
        if name in seen:
            raise invalid(f"{path}.function.name", f"tool names must be unique; {name!r} repeats.")
        seen.add(name)
        description = function.get("description")
        if description is not None:
            description = expect_str(description, f"{path}.function.description", non_empty=False)
        parameters = function.get("parameters")
        schema: dict[str, Any]
        if parameters is None:
            schema = {"type": "object", "properties": {}}
        else:
            schema = expect_object(parameters, f"{path}.function.parameters")
        specs.append(ToolSpec(name=name, description=description or None, input_schema=schema))
    return specs


def parse_tool_choice(value: object, tools: list[ToolSpec]) -> ToolChoice | None:
    """``none``/``auto``/``required`` or a named function. ``None`` when nothing is to be said:
    no choice given, or ``auto``/``none`` without tools (both mean "no tool call")."""
    match value:
        case None:
            return None
        case "auto" | "none" if not tools:
            return None
        case "auto":
            return ToolChoice("auto")
        case "none":
            return ToolChoice("none")
        case "required":
            _require_tools(tools)
            return ToolChoice("any")
        case {"type": "function", **fields}:
            function = expect_object(fields.get("function"), "tool_choice.function")
            name = expect_str(function.get("name"), "tool_choice.function.name")
            _require_tools(tools)
            if all(tool.name != name for tool in tools):
                raise invalid("tool_choice.function.name", f"no tool named {name!r} in 'tools'.")
            return ToolChoice("tool", name)
        case {"type": "allowed_tools" | "custom" as kind}:
            raise invalid("tool_choice.type", f"{kind!r} tool choice is not supported.")
        case _:
            raise invalid(
                "tool_choice",
                "expected 'none', 'auto', 'required' or "
                '{"type": "function", "function": {"name": ...}}.',
            )


def _require_tools(tools: list[ToolSpec]) -> None:
    if not tools:
        raise invalid("tool_choice", "a tool call can only be required when 'tools' are given.")


def _tool_name(value: object, param: str) -> str:
    name = expect_str(value, param)
    if len(name) > _NAME_MAX or not _NAME_CHARS.issuperset(name):
        raise invalid(param, f"{name!r} must be 1 to 64 letters, digits, underscores or hyphens.")
    return name
