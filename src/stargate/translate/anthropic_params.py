"""The one table of Anthropic Messages parameters and what the canonical path does with each.

The canonical path serves models that are not Claude on Bedrock (Nova, Llama, Mistral...).
Claude on Bedrock takes the Messages body almost untouched (see
``stargate.providers.bedrock.invoke_request``) and does not use this table.
``docs/anthropic-compatibility.md`` shows the same table (a test keeps them equal). Policies:

* ``supported``: translated into the canonical request (see :mod:`.anthropic_request`).
* ``ignored``: accepted and dropped: it cannot change the answer on this path.
* ``rejected``: accepted only at its no-op value; anything else is a 400, because dropping it
  would silently change the result.

A key that is not in the table is **ignored**, unlike the OpenAI dialect: Claude Code adds new
body fields in new releases and treats any 400 as fatal, so refusing unknown keys would break it
on every non-Claude model at once. :func:`ignored_fields` names what was ignored, for the
response header that reports it. ``null`` is always the same as leaving a parameter out.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, assert_never

import orjson

from stargate.translate.openai_fields import invalid

__all__ = ["PARAMETERS", "ParamPolicy", "ParamRule", "check_parameters", "ignored_fields"]


class ParamPolicy(enum.Enum):
    SUPPORTED = "supported"
    IGNORED = "ignored"
    REJECTED = "rejected"


@dataclass(slots=True, frozen=True)
class ParamRule:
    """``neutral`` lists the values that do nothing (accepted even when rejected)."""

    policy: ParamPolicy
    neutral: tuple[object, ...] = ()
    reason: str = ""


_S = ParamRule(ParamPolicy.SUPPORTED)
_I = ParamRule(ParamPolicy.IGNORED)


def _rejected(reason: str, *neutral: object) -> ParamRule:
    return ParamRule(ParamPolicy.REJECTED, neutral, reason)


PARAMETERS: Mapping[str, ParamRule] = MappingProxyType(
    {
        # translated
        "model": _S,
        "messages": _S,
        "max_tokens": _S,
        "system": _S,
        "metadata": _S,
        "stop_sequences": _S,
        "stream": _S,
        "temperature": _S,
        "top_p": _S,
        "top_k": _S,
        "tools": _S,
        "tool_choice": _S,
        "thinking": _S,
        "output_config": _S,
        # accepted, no effect on the answer
        "service_tier": _I,
        "context_management": _I,
        "anthropic_version": _I,
        "anthropic_beta": _I,
        # only the no-op value; otherwise 400
        "container": _rejected("code execution containers exist only on Anthropic's service."),
        "mcp_servers": _rejected("remote MCP servers are only reachable from Claude models.", []),
    }
)


def check_parameters(body: Mapping[str, Any]) -> None:
    """Apply the policy table to the request's top-level keys; raise on the first refusal."""
    for key, value in body.items():
        rule = PARAMETERS.get(key)
        if rule is None:
            continue
        match rule.policy:
            case ParamPolicy.SUPPORTED | ParamPolicy.IGNORED:
                continue
            case ParamPolicy.REJECTED:
                if value is not None and value not in rule.neutral:
                    raise invalid(key, f"{rule.reason} {_accepted_values(rule)}")
            case unreachable:
                assert_never(unreachable)


def ignored_fields(body: Mapping[str, Any]) -> list[str]:
    """The fields of a (valid) body that the canonical path ignores: ``ignored`` and unknown
    top-level keys, ``output_config.effort`` and ``tool_choice.disable_parallel_tool_use``."""
    ignored: list[str] = []
    for key, value in body.items():
        if value is None:
            continue
        rule = PARAMETERS.get(key)
        if rule is None or rule.policy is ParamPolicy.IGNORED:
            ignored.append(key)
    output_config = body.get("output_config")
    if isinstance(output_config, dict):
        ignored.extend(
            f"output_config.{name}"
            for name, value in output_config.items()
            if name != "format" and value is not None
        )
    tool_choice = body.get("tool_choice")
    if isinstance(tool_choice, dict) and tool_choice.get("disable_parallel_tool_use") is True:
        ignored.append("tool_choice.disable_parallel_tool_use")
    return ignored


def _accepted_values(rule: ParamRule) -> str:
    accepted = ["null", *(orjson.dumps(value).decode() for value in rule.neutral)]
    return "Leave it out or send " + " or ".join(accepted) + "."
