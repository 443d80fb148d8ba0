"""The one table of OpenAI Chat Completions parameters and what Stargate does with each.

``docs/openai-compatibility.md`` shows the same table (a test keeps them equal). Policies:

* ``supported``: translated into the canonical request (see :mod:`.openai_request`).
* ``ignored``: accepted and dropped; it cannot change the answer (``store``, ``seed`` ...).
* ``unsupported``: accepted only at its no-op value (``presence_penalty: 0``,
  ``logprobs: false``); any other value is a 400, because ignoring it would silently change the
  result. The ``drop_params`` opt-in (``drop_unknown=True``) drops it instead.
* ``rejected``: like ``unsupported``, but a 400 even under ``drop_params``: the caller expects a
  response of another shape (several choices, audio, legacy ``function_call``).

A key that is not in the table is a 400 naming it, unless ``drop_unknown`` is set. ``null`` is
always the same as leaving a parameter out.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, assert_never

import orjson

from stargate.errors import InvalidRequest
from stargate.translate.openai_fields import invalid

__all__ = ["PARAMETERS", "ParamPolicy", "ParamRule", "check_parameters"]


class ParamPolicy(enum.Enum):
    SUPPORTED = "supported"
    IGNORED = "ignored"
    UNSUPPORTED = "unsupported"
    REJECTED = "rejected"


@dataclass(slots=True, frozen=True)
class ParamRule:
    """``neutral`` lists the values that do nothing (accepted even when unsupported)."""

    policy: ParamPolicy
    neutral: tuple[object, ...] = ()
    reason: str = ""


_S = ParamRule(ParamPolicy.SUPPORTED)
_I = ParamRule(ParamPolicy.IGNORED)


def _unsupported(reason: str, *neutral: object) -> ParamRule:
    return ParamRule(ParamPolicy.UNSUPPORTED, neutral, reason)


def _rejected(reason: str, *neutral: object) -> ParamRule:
    return ParamRule(ParamPolicy.REJECTED, neutral, reason)


PARAMETERS: Mapping[str, ParamRule] = MappingProxyType(
    {
        # translated
        "model": _S,
        "messages": _S,
        "max_tokens": _S,
        "max_completion_tokens": _S,
        "temperature": _S,
        "top_p": _S,
        "top_k": _S,
        "stop": _S,
        "stream": _S,
        "stream_options": _S,
        "tools": _S,
        "tool_choice": _S,
        "user": _S,
        "response_format": _S,
        "reasoning_effort": _S,
        # accepted, no effect on the answer
        "parallel_tool_calls": _I,
        "seed": _I,
        "metadata": _I,
        "store": _I,
        "service_tier": _I,
        "prediction": _I,
        "prompt_cache_key": _I,
        "prompt_cache_retention": _I,
        "prompt_cache_options": _I,
        "safety_identifier": _I,
        # only the no-op value; otherwise 400 (dropped under drop_params)
        "logprobs": _unsupported("log probabilities are not available from the upstream.", False),
        "top_logprobs": _unsupported("log probabilities are not available from the upstream.", 0),
        "presence_penalty": _unsupported("presence penalties are not supported upstream.", 0),
        "frequency_penalty": _unsupported("frequency penalties are not supported upstream.", 0),
        "logit_bias": _unsupported("logit bias is not supported upstream.", {}),
        "verbosity": _unsupported("verbosity control is not supported upstream.", "medium"),
        "web_search_options": _unsupported("the gateway does not provide web search."),
        "moderation": _unsupported("the gateway does not run OpenAI moderation."),
        # only the no-op value; otherwise 400 even under drop_params
        "n": _rejected("only one choice (n = 1) can be generated per request.", 1),
        "audio": _rejected("audio output is not supported."),
        "modalities": _rejected("only text output is supported.", ["text"], []),
        "functions": _rejected("legacy functions are not supported; use 'tools'.", []),
        "function_call": _rejected(
            "legacy function_call is not supported; use 'tool_choice'.", "none", "auto"
        ),
    }
)


_PASSED = frozenset(
    name
    for name, rule in PARAMETERS.items()
    if rule.policy in (ParamPolicy.SUPPORTED, ParamPolicy.IGNORED)
)


def check_parameters(body: Mapping[str, Any], *, drop_unknown: bool) -> None:
    """Apply the policy table to the request's top-level keys; raise on the first refusal."""
    for key, value in body.items():
        if key in _PASSED:  # supported or ignored: nothing to check (most keys, in one lookup)
            continue
        rule = PARAMETERS.get(key)
        if rule is None:
            if drop_unknown:
                continue
            raise InvalidRequest(
                f"Unrecognized request argument supplied: {key}. Stargate rejects parameters it "
                "does not know instead of ignoring them (see the OpenAI compatibility guide).",
                param=key,
            )
        match rule.policy:
            case ParamPolicy.SUPPORTED | ParamPolicy.IGNORED:
                continue
            case ParamPolicy.UNSUPPORTED:
                refused = not drop_unknown
            case ParamPolicy.REJECTED:
                refused = True
            case unreachable:
                assert_never(unreachable)
        if refused and value is not None and value not in rule.neutral:
            raise invalid(key, f"{rule.reason} {_accepted_values(rule)}")


def _accepted_values(rule: ParamRule) -> str:
    accepted = ["null", *(orjson.dumps(value).decode() for value in rule.neutral)]
    return "Leave it out or send " + " or ".join(accepted) + "."
