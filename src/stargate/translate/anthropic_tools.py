"""Anthropic ``tools`` and ``tool_choice`` -> canonical :class:`ToolSpec` s and :class:`ToolChoice`.

Only custom tools (``{name, description, input_schema}``, ``type`` absent or ``"custom"``) can be
translated. Anthropic's server and client tools with a versioned ``type`` (``web_search_*``,
``web_fetch_*``, ``code_execution_*``, ``bash_*``, ``text_editor_*``, ``computer_*``,
``memory_*``, ``tool_search_*``...) run inside Anthropic's own service: on the canonical path
(a model that is not Claude) they are refused with a 400 naming the tool.

A tool's ``cache_control`` is accepted and dropped: the canonical request carries no cache
breakpoint on tools, and dropping one changes the cost of a call, never its answer.
``disable_parallel_tool_use`` is accepted and not enforced (as OpenAI's ``parallel_tool_calls``).
"""

from __future__ import annotations

import re

from stargate.core import ToolChoice, ToolSpec
from stargate.translate.anthropic_content import parse_cache_control
from stargate.translate.openai_fields import (
    expect_bool,
    expect_list,
    expect_object,
    expect_str,
    invalid,
    json_type,
)

__all__ = ["parse_tool_choice", "parse_tools"]

_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
_CHOICES = ("auto", "any", "tool", "none")


def parse_tools(value: object) -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    seen: set[str] = set()
    for index, raw in enumerate(expect_list(value, "tools")):
        path = f"tools.{index}"
        tool = expect_object(raw, path)
        kind = tool.get("type")
        if kind is not None and kind != "custom":
            shown = repr(kind) if isinstance(kind, str) else json_type(kind)
            raise invalid(
                f"{path}.type",
                f"the tool type {shown} is one of Anthropic's built-in tools, which only Claude "
                "models provide; this model takes custom tools ({name, description, "
                "input_schema}) only.",
            )
        name = expect_str(tool.get("name"), f"{path}.name")
        if not _NAME.fullmatch(name):
            raise invalid(
                f"{path}.name",
                f"{name!r} must be 1 to 128 letters, digits, underscores or hyphens.",
            )
        if name in seen:
            raise invalid(f"{path}.name", f"tool names must be unique; {name!r} repeats.")
        seen.add(name)
        description = tool.get("description")
        if description is not None:
            description = expect_str(description, f"{path}.description", non_empty=False)
        schema = expect_object(tool.get("input_schema"), f"{path}.input_schema")
        if schema.get("type") != "object":
            raise invalid(f"{path}.input_schema.type", "expected 'object'.")
        parse_cache_control(tool.get("cache_control"), f"{path}.cache_control")
        specs.append(ToolSpec(name=name, description=description or None, input_schema=schema))
    return specs


def parse_tool_choice(value: object, tools: list[ToolSpec]) -> ToolChoice | None:
    """``None`` when nothing is to be said: no choice, or ``auto``/``none`` without tools."""
    if value is None:
        return None
    choice = expect_object(value, "tool_choice")
    kind = choice.get("type")
    if kind not in _CHOICES:
        shown = repr(kind) if isinstance(kind, str) else json_type(kind)
        raise invalid("tool_choice.type", f"expected 'auto', 'any', 'tool' or 'none', got {shown}.")
    parallel = choice.get("disable_parallel_tool_use")
    if parallel is not None:
        expect_bool(parallel, "tool_choice.disable_parallel_tool_use")
    match kind:
        case "auto" | "none" if not tools:
            return None
        case "auto":
            return ToolChoice("auto")
        case "none":
            return ToolChoice("none")
        case "any":
            _require_tools(tools)
            return ToolChoice("any")
        case _:
            _require_tools(tools)
            name = expect_str(choice.get("name"), "tool_choice.name")
            if all(tool.name != name for tool in tools):
                raise invalid("tool_choice.name", f"no tool named {name!r} in 'tools'.")
            return ToolChoice("tool", name)


def _require_tools(tools: list[ToolSpec]) -> None:
    if not tools:
        raise invalid("tool_choice", "a tool call can only be required when 'tools' are given.")
