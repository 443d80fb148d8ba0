"""The Anthropic parameter table: ignored, rejected and unknown keys, and its documentation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from stargate.errors import InvalidRequest
from stargate.translate.anthropic_params import PARAMETERS, ParamPolicy, ignored_fields
from stargate.translate.anthropic_request import parse_messages_request

DOC = Path(__file__).parents[3] / "docs" / "anthropic-compatibility.md"


def body(**fields: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


def test_claude_codes_extra_fields_are_accepted_and_reported_as_ignored() -> None:
    payload = body(
        context_management={"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        output_config={"effort": "high"},
        service_tier="auto",
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        tools=[{"name": "f", "input_schema": {"type": "object"}}],
        a_field_from_the_future={"x": 1},
        stream=True,
    )
    parse_messages_request(payload)
    assert ignored_fields(payload) == [
        "context_management",
        "service_tier",
        "a_field_from_the_future",
        "output_config.effort",
        "tool_choice.disable_parallel_tool_use",
    ]


def test_null_values_are_not_reported() -> None:
    assert ignored_fields(body(context_management=None, service_tier=None)) == []


@pytest.mark.parametrize(
    ("key", "value", "neutral"),
    [
        ("container", "container_1", [None]),
        ("mcp_servers", [{"type": "url", "url": "https://mcp", "name": "m"}], [None, []]),
    ],
)
def test_rejected_parameters_are_400s_unless_neutral(
    key: str, value: object, neutral: list[object]
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_messages_request(body(**{key: value}))
    assert caught.value.param == key
    assert "Leave it out" in caught.value.message
    for harmless in neutral:
        parse_messages_request(body(**{key: harmless}))


def _documented_table() -> dict[str, str]:
    text = DOC.read_text()
    section = text.split("### The parameter table", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (supported|ignored|rejected) \|", section, re.M)
    return dict(rows)


def test_the_documented_table_is_the_code_table() -> None:
    documented = _documented_table()
    in_code = {name: rule.policy.value for name, rule in PARAMETERS.items()}
    assert documented == in_code
    assert {rule.policy for rule in PARAMETERS.values()} == set(ParamPolicy)
