"""prepare_invoke_body: a Messages body -> what InvokeModel accepts for each Claude family."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from stargate.providers.bedrock.claude_features import ClaudeFamily, ClaudeFeatures
from stargate.providers.bedrock.invoke_request import (
    ANTHROPIC_VERSION,
    parse_betas,
    prepare_invoke_body,
    thinking_budget,
)
from tests.unit.providers.bedrock.claude_code import (
    BETA_LIST,
    SYSTEM_MESSAGE,
    claude_code_body,
)

TABLE = ClaudeFeatures.load({})
OPUS_46 = TABLE.family("claude-opus-4-6-v1")
SONNET_46 = TABLE.family("claude-sonnet-4-6")
HAIKU_45 = TABLE.family("claude-haiku-4-5-20251001-v1:0")
SONNET_4 = TABLE.family("claude-sonnet-4-20250514-v1:0")
HAIKU_3 = TABLE.family("claude-3-haiku-20240307-v1:0")
BEDROCK_KEYS = {
    "anthropic_version",
    "anthropic_beta",
    "max_tokens",
    "messages",
    "system",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "tools",
    "tool_choice",
    "thinking",
    "context_management",
    "output_config",
}


def small(**fields: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


def ttls(value: object) -> list[object]:
    """Every cache_control.ttl anywhere in a JSON value."""
    found: list[object] = []
    if isinstance(value, dict):
        cache = value.get("cache_control")
        if isinstance(cache, dict) and "ttl" in cache:
            found.append(cache["ttl"])
        for member in value.values():
            found += ttls(member)
    elif isinstance(value, list):
        for item in value:
            found += ttls(item)
    return found


# --- the Claude Code replay -------------------------------------------------------------------


def test_claude_code_body_on_a_4_6_family_keeps_almost_everything() -> None:
    original = claude_code_body()
    pristine = copy.deepcopy(original)
    prepared = prepare_invoke_body(
        original, [BETA_LIST[0] + ", " + ",".join(BETA_LIST[1:])], OPUS_46
    )
    body = prepared.body
    assert original == pristine, "the caller's body must not be modified"
    assert set(body) <= BEDROCK_KEYS
    assert body["anthropic_version"] == ANTHROPIC_VERSION == "bedrock-2023-05-31"
    assert body["anthropic_beta"] == [
        "interleaved-thinking-2025-05-14",
        "context-management-2025-06-27",
        "effort-2025-11-24",
    ]
    assert prepared.dropped_betas == [
        "claude-code-20250219",
        "context-1m-2025-08-07",
        "thinking-token-count-2026-05-13",
        "prompt-caching-scope-2026-01-05",
        "mid-conversation-system-2026-04-07",
    ]
    assert prepared.dropped == ["metadata"]
    assert body["thinking"] == {"type": "adaptive"}
    assert body["output_config"] == {"effort": "high"}
    assert body["context_management"] == original["context_management"]
    assert body["system"] == original["system"]
    assert body["tools"] == original["tools"]
    assert ttls(body) == ["1h", "1h"]
    roles = [message["role"] for message in body["messages"]]
    assert roles == ["user", "assistant", "user"]
    first = body["messages"][0]["content"]
    assert first[:2] == original["messages"][0]["content"]
    assert first[2] == {
        "type": "text",
        "text": f"<system-reminder>\n{SYSTEM_MESSAGE['content']}\n</system-reminder>",
    }
    assert body["messages"][1:] == original["messages"][2:]
    assert prepared.translated == ["messages.1: role system -> <system-reminder> in a user turn"]


def test_claude_code_body_on_haiku_4_5_degrades_thinking_and_drops_effort() -> None:
    prepared = prepare_invoke_body(claude_code_body(), BETA_LIST, HAIKU_45)
    body = prepared.body
    assert body["anthropic_beta"] == [
        "interleaved-thinking-2025-05-14",
        "context-management-2025-06-27",
    ]
    assert "effort-2025-11-24" in prepared.dropped_betas
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 32000}
    assert "output_config" not in body
    assert prepared.dropped == ["metadata", "output_config.effort"]
    assert "context_management" in body
    assert ttls(body) == ["1h", "1h"]


def test_claude_code_body_on_sonnet_4_strips_every_cache_ttl() -> None:
    prepared = prepare_invoke_body(claude_code_body(), BETA_LIST, SONNET_4)
    body = prepared.body
    assert "context-1m-2025-08-07" in body["anthropic_beta"]
    assert ttls(body) == []
    assert body["system"][2]["cache_control"] == {"type": "ephemeral"}
    assert body["messages"][0]["content"][1]["cache_control"] == {"type": "ephemeral"}
    assert prepared.dropped == ["metadata", "output_config.effort", "cache_control.ttl"]


def test_claude_code_body_on_claude_3_keeps_no_beta_and_no_beta_gated_field() -> None:
    prepared = prepare_invoke_body(claude_code_body(), BETA_LIST, HAIKU_3)
    body = prepared.body
    assert "anthropic_beta" not in body
    assert prepared.dropped_betas == BETA_LIST
    assert "context_management" not in body
    assert "output_config" not in body
    assert "thinking" not in body  # Claude 3.x cannot think
    assert set(prepared.dropped) == {
        "metadata",
        "context_management",
        "output_config.effort",
        "cache_control.ttl",
        "thinking",
    }


def test_the_conservative_fallback_for_an_unknown_family_is_safe() -> None:
    unknown = TABLE.family("claude-opus-4-8")
    prepared = prepare_invoke_body(claude_code_body(), BETA_LIST, unknown)
    assert "anthropic_beta" not in prepared.body
    assert "thinking" not in prepared.body
    assert ttls(prepared.body) == []


# --- betas ------------------------------------------------------------------------------------


def test_betas_from_several_headers_and_the_body_are_merged_and_deduplicated() -> None:
    assert parse_betas([" a, b ,", "b,c", "", 3]) == ["a", "b", "c"]
    prepared = prepare_invoke_body(
        small(anthropic_beta=["effort-2025-11-24", "made-up-beta"]),
        ["interleaved-thinking-2025-05-14, effort-2025-11-24", "no-such-beta-2099-01-01"],
        SONNET_46,
    )
    assert prepared.body["anthropic_beta"] == [
        "interleaved-thinking-2025-05-14",
        "effort-2025-11-24",
    ]
    assert prepared.dropped_betas == ["no-such-beta-2099-01-01", "made-up-beta"]
    assert prepared.dropped == []
    assert "anthropic_beta" not in prepare_invoke_body(small(), [], SONNET_46).body


def test_output_config_format_is_always_dropped() -> None:
    output_config = {"effort": "low", "format": {"type": "json_schema", "schema": {}}}
    prepared = prepare_invoke_body(
        small(output_config=output_config), ["effort-2025-11-24"], OPUS_46
    )
    assert prepared.body["output_config"] == {"effort": "low"}
    assert prepared.dropped == ["output_config.format"]
    bare = prepare_invoke_body(small(output_config={"format": {}}), ["effort-2025-11-24"], OPUS_46)
    assert "output_config" not in bare.body
    assert bare.dropped == ["output_config.format"]


def test_unknown_top_level_keys_are_dropped_and_reported() -> None:
    prepared = prepare_invoke_body(
        small(stream=False, service_tier="auto", container="c", inference_geo="us"),
        [],
        OPUS_46,
    )
    assert set(prepared.body) == {"anthropic_version", "max_tokens", "messages"}
    assert prepared.dropped == ["service_tier", "container", "inference_geo"]


# --- role: system -----------------------------------------------------------------------------


def reminder(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": f"<system-reminder>\n{text}\n</system-reminder>", **extra}


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (
            [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
            [{"role": "user", "content": [reminder("s"), {"type": "text", "text": "u"}]}],
        ),
        (
            [
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": "a"},
                {"role": "system", "content": "s"},
            ],
            [
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": "a"},
                {"role": "user", "content": [reminder("s")]},
            ],
        ),
        (
            [
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": "a1"},
                {"role": "system", "content": "s1"},
                {"role": "system", "content": [{"type": "text", "text": "s2"}]},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t", "content": "r"},
                        {"type": "text", "text": "more"},
                    ],
                },
            ],
            [
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": "a1"},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t", "content": "r"},
                        reminder("s1"),
                        reminder("s2"),
                        {"type": "text", "text": "more"},
                    ],
                },
            ],
        ),
        (
            [
                {"role": "system", "content": "s"},
                {"role": "assistant", "content": "a"},
                {"role": "user", "content": "u"},
            ],
            [
                {"role": "user", "content": [reminder("s")]},
                {"role": "assistant", "content": "a"},
                {"role": "user", "content": "u"},
            ],
        ),
        (
            [
                {"role": "user", "content": "u"},
                {
                    "role": "system",
                    "content": [
                        {"type": "text", "text": "x"},
                        {"type": "text", "text": "y", "cache_control": {"type": "ephemeral"}},
                    ],
                },
                {"role": "system", "content": "z"},
            ],
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "u"},
                        reminder("x\ny", cache_control={"type": "ephemeral"}),
                        reminder("z"),
                    ],
                }
            ],
        ),
    ],
)
def test_system_messages_move_into_a_neighbouring_user_turn(
    messages: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    prepared = prepare_invoke_body(small(messages=messages), [], OPUS_46)
    assert prepared.body["messages"] == expected
    roles = [m["role"] for m in prepared.body["messages"]]
    assert all(a != b for a, b in itertools.pairwise(roles))


def test_malformed_messages_are_left_for_bedrock_to_judge() -> None:
    assert prepare_invoke_body(small(messages="nope"), [], OPUS_46).body["messages"] == "nope"
    odd = [{"role": "user", "content": "u"}, 7]
    assert prepare_invoke_body(small(messages=odd), [], OPUS_46).body["messages"] == odd


# --- cache ttl and thinking -------------------------------------------------------------------


def test_ttl_is_stripped_inside_tool_results_and_tools_without_touching_the_input() -> None:
    cache = {"type": "ephemeral", "ttl": "5m"}
    body = small(
        tools=[{"name": "f", "input_schema": {"type": "object"}, "cache_control": cache}],
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t",
                        "content": [{"type": "text", "text": "r", "cache_control": cache}],
                    }
                ],
            }
        ],
    )
    pristine = copy.deepcopy(body)
    prepared = prepare_invoke_body(body, [], SONNET_4)
    assert ttls(prepared.body) == []
    assert body == pristine
    kept = prepare_invoke_body(body, [], HAIKU_45)
    assert ttls(kept.body) == ["5m", "5m"]
    assert kept.dropped == []


@pytest.mark.parametrize(
    ("max_tokens", "budget"),
    [(64000, 32000), (32000, 16000), (4096, 2048), (2000, 1024), (1500, 1024), (1025, 1024)],
)
def test_adaptive_thinking_becomes_a_budget_within_max_tokens(max_tokens: int, budget: int) -> None:
    assert thinking_budget(max_tokens) == budget
    prepared = prepare_invoke_body(
        small(max_tokens=max_tokens, thinking={"type": "adaptive"}), [], HAIKU_45
    )
    assert prepared.body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert 1024 <= budget < max_tokens


@pytest.mark.parametrize("max_tokens", [1024, 500, 1])
def test_adaptive_thinking_without_room_is_dropped(max_tokens: int) -> None:
    assert thinking_budget(max_tokens) is None
    prepared = prepare_invoke_body(
        small(max_tokens=max_tokens, thinking={"type": "adaptive"}), [], HAIKU_45
    )
    assert "thinking" not in prepared.body
    assert prepared.dropped == ["thinking"]


def test_other_thinking_settings_pass_as_they_are() -> None:
    for thinking in ({"type": "enabled", "budget_tokens": 2048}, {"type": "disabled"}):
        prepared = prepare_invoke_body(small(max_tokens=4096, thinking=thinking), [], SONNET_4)
        assert prepared.body["thinking"] == thinking
    adaptive = prepare_invoke_body(small(thinking={"type": "adaptive"}), [], SONNET_46)
    assert adaptive.body["thinking"] == {"type": "adaptive"}


def test_a_family_that_cannot_think_gets_no_thinking() -> None:
    enabled = {"type": "enabled", "budget_tokens": 2048}
    prepared = prepare_invoke_body(small(max_tokens=4096, thinking=enabled), [], HAIKU_3)
    assert "thinking" not in prepared.body
    assert prepared.dropped == ["thinking"]
    disabled = prepare_invoke_body(small(thinking={"type": "disabled"}), [], HAIKU_3)
    assert "thinking" not in disabled.body
    assert disabled.dropped == []


def test_a_family_is_only_what_the_table_says() -> None:
    bare = ClaudeFamily(
        "claude-x",
        frozenset({"only-this"}),
        cache_ttl=True,
        extended_thinking=True,
        adaptive_thinking=True,
    )
    prepared = prepare_invoke_body(claude_code_body(), [*BETA_LIST, "only-this"], bare)
    assert prepared.body["anthropic_beta"] == ["only-this"]
    assert "context_management" not in prepared.body
