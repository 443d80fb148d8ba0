"""OpenAI ``POST /v1/chat/completions`` body -> canonical :class:`ChatRequest`.

Pure and allocation-light: the body is the plain ``dict`` from ``orjson.loads``. Every bad input
raises :class:`~stargate.errors.InvalidRequest` with ``param`` naming the field path. Which
parameters are translated, ignored or refused is decided by the one table in
:mod:`stargate.translate.openai_params`.

Values that some providers accept and others do not are passed through, not pre-judged here:
``temperature`` keeps OpenAI's range 0..2 (Bedrock accepts 0..1 and answers a larger value with
a 400), and ``top_k``, ``reasoning_effort`` and ``response_format`` travel in
:attr:`ChatRequest.extra` for the provider to translate or refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stargate.core import ChatRequest
from stargate.errors import InvalidRequest
from stargate.translate.openai_fields import (
    expect_bool,
    expect_int,
    expect_number,
    expect_object,
    expect_str,
    invalid,
)
from stargate.translate.openai_messages import parse_messages
from stargate.translate.openai_params import check_parameters
from stargate.translate.openai_tools import parse_tool_choice, parse_tools

__all__ = [
    "MAX_STOP_SEQUENCES",
    "REASONING_EFFORTS",
    "parse_chat_request",
    "stream_include_usage",
]

MAX_STOP_SEQUENCES = 2500  # Bedrock's limit (inferenceConfig.stopSequences)
REASONING_EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh", "max"})


def parse_chat_request(body: object, *, drop_unknown: bool = False) -> ChatRequest:
    """Validate an OpenAI Chat Completions body and convert it to a :class:`ChatRequest`.

    ``drop_unknown`` is the caller's ``drop_params`` opt-in: unknown keys and ``unsupported``
    parameters are dropped instead of refused (``rejected`` ones are refused regardless).
    """
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    check_parameters(body, drop_unknown=drop_unknown)
    get = body.get
    model = expect_str(get("model"), "model")
    system, messages = parse_messages(get("messages"))
    tools = [] if get("tools") is None else parse_tools(body["tools"])
    # By position, in the fields' order (a call by keyword costs twice as much): model,
    # messages, system, max_tokens, temperature and top_p (set below), stop, tools, tool_choice.
    request = ChatRequest(
        model,
        messages,
        system,
        _max_tokens(body),
        None,
        None,
        _stop(get("stop")),
        tools,
        parse_tool_choice(get("tool_choice"), tools),
    )
    if (value := get("temperature")) is not None:
        request.temperature = expect_number(value, "temperature", low=0.0, high=2.0)
    if (value := get("top_p")) is not None:
        request.top_p = expect_number(value, "top_p", low=0.0, high=1.0)
    if (value := get("stream")) is not None:
        request.stream = expect_bool(value, "stream")
    if (value := get("stream_options")) is not None:
        _check_stream_options(value)
    if (value := get("user")) is not None:
        request.user = expect_str(value, "user", non_empty=False) or None
    if (value := get("top_k")) is not None:
        request.extra["top_k"] = expect_int(value, "top_k", minimum=0)
    if (value := get("reasoning_effort")) is not None:
        request.extra["reasoning_effort"] = _reasoning_effort(value)
    if (value := get("response_format")) is not None and (fmt := _response_format(value)):
        request.extra["response_format"] = fmt
    return request


def stream_include_usage(body: Mapping[str, Any]) -> bool:
    """Whether a (validated) body asked for the final usage chunk of a stream."""
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _max_tokens(body: dict[str, Any]) -> int | None:
    legacy = body.get("max_tokens")
    current = body.get("max_completion_tokens")
    if legacy is not None:
        legacy = expect_int(legacy, "max_tokens", minimum=1)
    if current is None:
        return legacy
    value = expect_int(current, "max_completion_tokens", minimum=1)
    if legacy is not None and legacy != value:
        raise invalid(
            "max_completion_tokens",
            "conflicts with 'max_tokens'; send only one of the two (or the same value).",
        )
    return value


def _stop(value: object) -> list[str]:
    match value:
        case None:
            return []
        case str():
            return [expect_str(value, "stop")]
        case list():
            if len(value) > MAX_STOP_SEQUENCES:
                raise invalid("stop", f"at most {MAX_STOP_SEQUENCES} stop sequences are accepted.")
            return [expect_str(item, f"stop[{index}]") for index, item in enumerate(value)]
        case _:
            raise invalid("stop", "expected a string or an array of strings.")


def _check_stream_options(value: object) -> None:
    options = expect_object(value, "stream_options")
    include_usage = options.get("include_usage")
    if include_usage is not None:
        expect_bool(include_usage, "stream_options.include_usage")


def _reasoning_effort(value: object) -> str:
    effort = expect_str(value, "reasoning_effort")
    if effort not in REASONING_EFFORTS:
        allowed = ", ".join(sorted(REASONING_EFFORTS))
        raise invalid("reasoning_effort", f"expected one of {allowed}; got {effort!r}.")
    return effort


def _response_format(value: object) -> dict[str, Any] | None:
    """``text`` -> nothing to do; ``json_object``/``json_schema`` -> passed on, validated."""
    fmt = expect_object(value, "response_format")
    match fmt.get("type"):
        case "text":
            return None
        case "json_object":
            return {"type": "json_object"}
        case "json_schema":
            spec = expect_object(fmt.get("json_schema"), "response_format.json_schema")
            expect_str(spec.get("name"), "response_format.json_schema.name")
            if spec.get("schema") is not None:
                expect_object(spec["schema"], "response_format.json_schema.schema")
            return {"type": "json_schema", "json_schema": spec}
        case other:
            shown = repr(other) if isinstance(other, str) else "nothing"
            raise invalid(
                "response_format.type",
                f"expected 'text', 'json_object' or 'json_schema', got {shown}.",
            )
