"""The parameter policy table: ignored, unsupported, rejected and unknown parameters."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from stargate.errors import InvalidRequest
from stargate.translate.openai_params import PARAMETERS, ParamPolicy
from stargate.translate.openai_request import parse_chat_request

HELLO = [{"role": "user", "content": "hello"}]
DOC = Path(__file__).parents[3] / "docs" / "openai-compatibility.md"


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": HELLO, **fields}


def refused(fields: dict[str, Any], *, drop_unknown: bool = False) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_chat_request(body(**fields), drop_unknown=drop_unknown)
    return caught.value


IGNORED_SAMPLES = {
    "parallel_tool_calls": False,
    "seed": 7,
    "metadata": {"team": "search"},
    "store": True,
    "service_tier": "flex",
    "prediction": {"type": "content", "content": "draft"},
    "prompt_cache_key": "k",
    "prompt_cache_retention": "24h",
    "prompt_cache_options": {"mode": "implicit"},
    "safety_identifier": "u-1",
}

# (parameter, a value that changes the answer, its no-op values)
UNSUPPORTED_SAMPLES = [
    ("logprobs", True, [False]),
    ("top_logprobs", 3, [0]),
    ("presence_penalty", 0.5, [0, 0.0]),
    ("frequency_penalty", -1, [0]),
    ("logit_bias", {"50256": -100}, [{}]),
    ("verbosity", "low", ["medium"]),
    ("web_search_options", {}, []),
    ("moderation", {"model": "omni"}, []),
]

REJECTED_SAMPLES = [
    ("n", 2, [1]),
    ("audio", {"voice": "alloy", "format": "wav"}, []),
    ("modalities", ["text", "audio"], [["text"], []]),
    ("functions", [{"name": "f"}], [[]]),
    ("function_call", {"name": "f"}, ["none", "auto"]),
]


def test_every_sample_covers_the_table() -> None:
    sampled = (
        set(IGNORED_SAMPLES)
        | {name for name, _, _ in UNSUPPORTED_SAMPLES}
        | {name for name, _, _ in REJECTED_SAMPLES}
    )
    not_supported = {n for n, r in PARAMETERS.items() if r.policy is not ParamPolicy.SUPPORTED}
    assert sampled == not_supported


def test_ignored_parameters_are_accepted_and_change_nothing() -> None:
    assert parse_chat_request(body(**IGNORED_SAMPLES)) == parse_chat_request(body())


@pytest.mark.parametrize(("name", "value", "neutral"), UNSUPPORTED_SAMPLES + REJECTED_SAMPLES)
def test_no_op_values_and_null_are_accepted(
    name: str, value: object, neutral: list[object]
) -> None:
    for accepted in [None, *neutral]:
        assert parse_chat_request(body(**{name: accepted})) == parse_chat_request(body())


@pytest.mark.parametrize(("name", "value", "neutral"), UNSUPPORTED_SAMPLES + REJECTED_SAMPLES)
def test_values_that_would_change_the_answer_are_refused(
    name: str, value: object, neutral: list[object]
) -> None:
    err = refused({name: value})
    assert err.param == name
    assert err.status == 400
    assert f"'{name}'" in err.message
    assert "Leave it out or send null" in err.message


@pytest.mark.parametrize(("name", "value", "neutral"), UNSUPPORTED_SAMPLES)
def test_drop_params_drops_unsupported_values(name: str, value: object, neutral: object) -> None:
    request = parse_chat_request(body(**{name: value}), drop_unknown=True)
    assert request == parse_chat_request(body())


@pytest.mark.parametrize(("name", "value", "neutral"), REJECTED_SAMPLES)
def test_drop_params_does_not_drop_rejected_values(
    name: str, value: object, neutral: object
) -> None:
    assert refused({name: value}, drop_unknown=True).param == name


def test_the_refusal_names_the_no_op_values() -> None:
    assert "Leave it out or send null or 1." in refused({"n": 3}).message


def test_unknown_parameters_are_refused_by_name() -> None:
    err = refused({"temprature": 0.2})
    assert err.param == "temprature"
    assert "Unrecognized request argument supplied: temprature" in err.message


def test_unknown_parameters_are_refused_even_when_null() -> None:
    assert refused({"thinking": None}).param == "thinking"


def test_drop_params_drops_unknown_parameters() -> None:
    request = parse_chat_request(body(temprature=0.2, extra_thing={"a": 1}), drop_unknown=True)
    assert request == parse_chat_request(body())


def test_supported_parameters_are_still_validated_under_drop_params() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_chat_request(body(temperature=9), drop_unknown=True)
    assert caught.value.param == "temperature"


def _documented_policies() -> dict[str, str]:
    rows = re.findall(
        r"^\| `([a-z_]+)` \| (supported|ignored|unsupported|rejected) \|",
        DOC.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    return dict(rows)


def test_the_documented_table_matches_the_code() -> None:
    documented = _documented_policies()
    assert documented == {name: rule.policy.value for name, rule in PARAMETERS.items()}
