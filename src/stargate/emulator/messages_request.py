"""Check an InvokeModel body for a Claude model as Bedrock does, and read it into a request.

Two layers answer, as on Bedrock, each with its own voice (all 400 ValidationException):

1. Bedrock's JSON-schema check of the top level, every violation in one message
   ``Malformed input request: #: <violation>#: <violation>..., please reformat your input and try
   again.``: ``required key [<key>] not found`` for ``anthropic_version``, ``max_tokens`` and
   ``messages``; ``extraneous key [<key>] is not permitted`` for any key but
   :data:`ACCEPTED_KEYS` (``context_management`` needs the ``context-management-2025-06-27`` beta,
   ``output_config`` the ``effort-2025-11-24`` beta and holds only ``effort``: so ``model``,
   ``stream`` and ``metadata`` are refused); ``#/anthropic_version: <v> is not a valid enum
   value`` unless it is exactly ``bedrock-2023-05-31``; ``#/<key>: expected type: <T>, found:
   <T>`` for a top-level value of the wrong JSON type.
2. The model's own checks, in Anthropic's words: ``invalid beta flag: <value>`` for a beta the
   model family does not accept (:mod:`stargate.emulator.claude_rules`); ``max_tokens: Input should
   be greater than or equal to 1``; the content rules of :mod:`stargate.emulator.messages_content`;
   ``thinking``: ``enabled`` needs ``1024 <= budget_tokens < max_tokens`` (the upper bound lifted
   by the interleaved-thinking beta), ``adaptive`` only where the family allows it ("adaptive
   thinking is not supported on this model"); and "Requests which include `tool_use` or
   `tool_result` blocks must define tools."

``tool_choice`` ``auto``/``any``/``tool`` map onto the reply rules' tool choice; ``none`` offers
no tool to the reply (its tools still count as input).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import orjson

from stargate.emulator.claude_rules import (
    BETA_CONTEXT_MANAGEMENT,
    BETA_EFFORT,
    BETA_INTERLEAVED_THINKING,
    ClaudeRules,
)
from stargate.emulator.errors import validation_error
from stargate.emulator.messages_content import MessagesContent, Segment, read_content
from stargate.emulator.prompt import Prompt, ToolChoice
from stargate.emulator.tokens import tokens_for_chars

__all__ = [
    "ACCEPTED_KEYS",
    "ANTHROPIC_VERSION",
    "MIN_THINKING_BUDGET",
    "MessagesRequest",
    "ThinkingMode",
    "parse_messages_request",
]

ANTHROPIC_VERSION = "bedrock-2023-05-31"
"""The one ``anthropic_version`` Bedrock accepts."""

MIN_THINKING_BUDGET = 1024

ACCEPTED_KEYS = frozenset(
    {
        "anthropic_version", "anthropic_beta", "max_tokens", "messages", "system", "temperature",
        "top_p", "top_k", "stop_sequences", "tools", "tool_choice", "thinking",
    }
)  # fmt: skip
"""The top-level keys Bedrock accepts whatever the betas."""

_REQUIRED = ("anthropic_version", "max_tokens", "messages")
_BUDGET_DOCS = (
    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation "
    "at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
    "#max-tokens-and-context-window-size"
)
_TOOL_CHOICES = ("auto", "any", "tool", "none")
_THINKING_TYPES = ("enabled", "disabled", "adaptive")

ThinkingMode = Literal["enabled", "adaptive"]


@dataclass(slots=True, frozen=True)
class MessagesRequest:
    """A checked InvokeModel body: the prompt for the reply rules, and what the cache sees."""

    prompt: Prompt
    segments: tuple[Segment, ...]
    thinking: ThinkingMode | None
    rules: ClaudeRules

    @property
    def input_chars(self) -> int:
        return sum(segment.chars for segment in self.segments)


def _json_type(value: object) -> str:
    match value:
        case None:
            return "Null"
        case bool():
            return "Boolean"
        case int():
            return "Integer"
        case float():
            return "Number"
        case str():
            return "String"
        case list():
            return "JSONArray"
        case _:
            return "JSONObject"


_EXPECTED_TYPES: Mapping[str, tuple[str, ...]] = {
    "max_tokens": ("Integer",),
    "messages": ("JSONArray",),
    "anthropic_beta": ("JSONArray",),
    "system": ("String", "JSONArray"),
    "temperature": ("Number", "Integer"),
    "top_p": ("Number", "Integer"),
    "top_k": ("Integer",),
    "stop_sequences": ("JSONArray",),
    "tools": ("JSONArray",),
    "tool_choice": ("JSONObject",),
    "thinking": ("JSONObject",),
    "context_management": ("JSONObject",),
    "output_config": ("JSONObject",),
}


def _betas(data: Mapping[str, object]) -> list[str]:
    betas = data.get("anthropic_beta", [])
    return [beta for beta in betas if isinstance(beta, str)] if isinstance(betas, list) else []


def _schema_violations(data: Mapping[str, object], betas: list[str]) -> list[str]:
    accepted = set(ACCEPTED_KEYS)
    if BETA_CONTEXT_MANAGEMENT in betas:
        accepted.add("context_management")
    if BETA_EFFORT in betas:
        accepted.add("output_config")
    found = [f"#: required key [{key}] not found" for key in _REQUIRED if key not in data]
    found += [f"#: extraneous key [{key}] is not permitted" for key in data if key not in accepted]
    for key, value in data.items():
        expected = _EXPECTED_TYPES.get(key)
        if key in accepted and expected is not None and _json_type(value) not in expected:
            found.append(f"#/{key}: expected type: {expected[0]}, found: {_json_type(value)}")
    version = data.get("anthropic_version", ANTHROPIC_VERSION)
    if version != ANTHROPIC_VERSION:
        found.append(f"#/anthropic_version: {version} is not a valid enum value")
    raw_betas = data.get("anthropic_beta")
    for index, beta in enumerate(raw_betas if isinstance(raw_betas, list) else []):
        if not isinstance(beta, str):
            found.append(
                f"#/anthropic_beta/{index}: expected type: String, found: {_json_type(beta)}"
            )
    output_config = data.get("output_config")
    if "output_config" in accepted and isinstance(output_config, Mapping):
        found += [
            f"#/output_config: extraneous key [{key}] is not permitted"
            for key in output_config
            if key != "effort"
        ]
    return found


def _thinking(
    data: Mapping[str, object], rules: ClaudeRules, betas: list[str]
) -> ThinkingMode | None:
    thinking = data.get("thinking")
    if thinking is None:
        return None
    assert isinstance(thinking, Mapping)
    kind = thinking.get("type")
    if kind not in _THINKING_TYPES:
        expected = ", ".join(f"'{name}'" for name in _THINKING_TYPES)
        raise validation_error(
            f"thinking: Input tag '{kind}' found using 'type' does not match any of the expected "
            f"tags: {expected}"
        )
    if kind == "disabled":
        return None
    if kind == "adaptive":
        if not rules.adaptive_thinking:
            raise validation_error("adaptive thinking is not supported on this model")
        return "adaptive"
    if not rules.extended_thinking:
        raise validation_error("extended thinking is not supported on this model")
    budget = thinking.get("budget_tokens")
    if budget is None:
        raise validation_error("thinking.enabled.budget_tokens: Field required")
    if isinstance(budget, bool) or not isinstance(budget, int):
        raise validation_error("thinking.enabled.budget_tokens: Input should be a valid integer")
    if budget < MIN_THINKING_BUDGET:
        raise validation_error(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to "
            f"{MIN_THINKING_BUDGET}"
        )
    max_tokens = data["max_tokens"]
    assert isinstance(max_tokens, int)
    if budget >= max_tokens and BETA_INTERLEAVED_THINKING not in betas:
        raise validation_error(_BUDGET_DOCS)
    return "enabled"


def _tool_choice(choice: object) -> ToolChoice | None:
    """The reply rules' tool choice; ``None`` for ``none`` (no tool is offered to the reply)."""
    if choice is None:
        return ToolChoice()
    assert isinstance(choice, Mapping)
    kind = choice.get("type")
    if kind not in _TOOL_CHOICES:
        expected = ", ".join(f"'{name}'" for name in _TOOL_CHOICES)
        raise validation_error(
            f"tool_choice: Input tag '{kind}' found using 'type' does not match any of the "
            f"expected tags: {expected}"
        )
    if kind == "none":
        return None
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str):
            raise validation_error("tool_choice.tool.name: Field required")
        return ToolChoice("tool", name)
    return ToolChoice("any") if kind == "any" else ToolChoice()


def _stop_sequences(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    assert isinstance(value, list)
    for index, stop in enumerate(value):
        if not isinstance(stop, str):
            raise validation_error(f"stop_sequences.{index}: Input should be a valid string")
    return tuple(value)


def _load(body: bytes) -> Mapping[str, object]:
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise validation_error(
            "Malformed input request: the body is not valid JSON, please reformat your input and "
            "try again."
        ) from None
    if not isinstance(data, Mapping):
        raise validation_error(
            f"Malformed input request: #: expected type: JSONObject, found: {_json_type(data)}, "
            "please reformat your input and try again."
        )
    return data


def parse_messages_request(body: bytes, rules: ClaudeRules) -> MessagesRequest:
    """Check an InvokeModel body for the Claude model with ``rules``, and read it."""
    data = _load(body)
    betas = _betas(data)
    violations = _schema_violations(data, betas)
    if violations:
        raise validation_error(
            f"Malformed input request: {''.join(violations)}, please reformat your input and try "
            "again."
        )
    for beta in betas:
        if beta not in rules.betas:
            raise validation_error(f"invalid beta flag: {beta}")
    max_tokens = data["max_tokens"]
    assert isinstance(max_tokens, int)
    if max_tokens < 1:
        raise validation_error("max_tokens: Input should be greater than or equal to 1")
    messages = data["messages"]
    assert isinstance(messages, list)
    content: MessagesContent = read_content(
        rules, tools=data.get("tools"), system=data.get("system"), messages=messages
    )
    if content.has_tool_blocks and not content.tools:
        raise validation_error(
            "Requests which include `tool_use` or `tool_result` blocks must define tools."
        )
    thinking = _thinking(data, rules, betas)
    choice = _tool_choice(data.get("tool_choice"))
    prompt = Prompt(
        last_user_text=content.last_user_text,
        input_tokens=tokens_for_chars(content.chars),
        turn=len(messages),
        tool_results=content.tool_results,
        tools=content.tools if choice is not None else (),
        tool_choice=choice or ToolChoice(),
        max_tokens=max_tokens,
        stop_sequences=_stop_sequences(data.get("stop_sequences")),
    )
    return MessagesRequest(prompt, tuple(content.segments), thinking, rules)
