"""Anthropic ``POST /v1/messages`` body -> canonical :class:`ChatRequest`.

This is the canonical path, for deployments whose model is not Claude on Bedrock (Nova and the
rest go through Converse). Every bad input raises :class:`~stargate.errors.InvalidRequest` with
``param`` naming the field path (``messages.1.content.0.source.type``). Which top-level
parameters are translated, ignored or refused is decided by the table in
:mod:`stargate.translate.anthropic_params`.

* ``max_tokens`` is required (as on Anthropic's API), a positive integer.
* ``temperature`` and ``top_p`` keep Anthropic's range 0..1; ``top_k`` travels in
  :attr:`ChatRequest.extra` for the provider.
* ``thinking`` ``enabled`` (``budget_tokens`` from 1024 to below ``max_tokens``) or
  ``adaptive`` travels in ``extra["thinking"]`` for the providers that can use it (Claude);
  ``disabled`` is the default and is dropped.
* ``metadata.user_id`` becomes :attr:`ChatRequest.user`.
* ``output_config.format`` (structured output) is refused; ``output_config.effort`` is ignored.
"""

from __future__ import annotations

from typing import Any

from stargate.core import ChatRequest
from stargate.errors import InvalidRequest
from stargate.translate.anthropic_content import parse_text_blocks
from stargate.translate.anthropic_messages import parse_messages
from stargate.translate.anthropic_params import check_parameters
from stargate.translate.anthropic_tools import parse_tool_choice, parse_tools
from stargate.translate.openai_fields import (
    expect_bool,
    expect_int,
    expect_list,
    expect_number,
    expect_object,
    expect_str,
    invalid,
)

__all__ = ["MAX_STOP_SEQUENCES", "MIN_THINKING_BUDGET", "parse_messages_request"]

MAX_STOP_SEQUENCES = 2500  # Bedrock's limit (inferenceConfig.stopSequences)
MIN_THINKING_BUDGET = 1024


def parse_messages_request(body: object) -> ChatRequest:
    """Validate an Anthropic Messages body and convert it to a :class:`ChatRequest`."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    check_parameters(body)
    get = body.get
    model = expect_str(get("model"), "model")
    if get("max_tokens") is None:
        raise invalid("max_tokens", "this field is required: a positive integer.")
    max_tokens = expect_int(body["max_tokens"], "max_tokens", minimum=1)
    extra_system, messages = parse_messages(get("messages"))
    system = [] if get("system") is None else parse_text_blocks(body["system"], "system")
    tools = [] if get("tools") is None else parse_tools(body["tools"])
    request = ChatRequest(
        model=model,
        messages=messages,
        system=[*system, *extra_system],
        max_tokens=max_tokens,
        stop=_stop_sequences(get("stop_sequences")),
        tools=tools,
        tool_choice=parse_tool_choice(get("tool_choice"), tools),
    )
    if (value := get("temperature")) is not None:
        request.temperature = expect_number(value, "temperature", low=0.0, high=1.0)
    if (value := get("top_p")) is not None:
        request.top_p = expect_number(value, "top_p", low=0.0, high=1.0)
    if (value := get("top_k")) is not None:
        request.extra["top_k"] = expect_int(value, "top_k", minimum=0)
    if (value := get("stream")) is not None:
        request.stream = expect_bool(value, "stream")
    if (value := get("metadata")) is not None:
        request.user = _user_id(value)
    if (value := get("thinking")) is not None and (thinking := _thinking(value, max_tokens)):
        request.extra["thinking"] = thinking
    if (value := get("output_config")) is not None:
        _check_output_config(value)
    return request


def _stop_sequences(value: object) -> list[str]:
    if value is None:
        return []
    items = expect_list(value, "stop_sequences")
    if len(items) > MAX_STOP_SEQUENCES:
        raise invalid("stop_sequences", f"at most {MAX_STOP_SEQUENCES} are accepted.")
    return [expect_str(item, f"stop_sequences.{index}") for index, item in enumerate(items)]


def _user_id(value: object) -> str | None:
    metadata = expect_object(value, "metadata")
    user_id = metadata.get("user_id")
    if user_id is None:
        return None
    return expect_str(user_id, "metadata.user_id", non_empty=False) or None


def _thinking(value: object, max_tokens: int) -> dict[str, Any] | None:
    thinking = expect_object(value, "thinking")
    match thinking.get("type"):
        case "disabled":
            return None
        case "adaptive":
            return {"type": "adaptive"}
        case "enabled":
            budget = expect_int(
                thinking.get("budget_tokens"), "thinking.budget_tokens", minimum=MIN_THINKING_BUDGET
            )
            if budget >= max_tokens:
                raise invalid(
                    "thinking.budget_tokens",
                    f"must be less than max_tokens ({max_tokens}), got {budget}.",
                )
            return {"type": "enabled", "budget_tokens": budget}
        case other:
            shown = repr(other) if isinstance(other, str) else "nothing"
            raise invalid(
                "thinking.type", f"expected 'enabled', 'adaptive' or 'disabled', got {shown}."
            )


def _check_output_config(value: object) -> None:
    config = expect_object(value, "output_config")
    if config.get("format") is not None:
        raise invalid(
            "output_config.format",
            "structured output is not available for this model. Leave it out or send null.",
        )
