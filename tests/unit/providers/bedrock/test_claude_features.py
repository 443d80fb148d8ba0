"""The Claude feature table: the shipped rows, family matching, the fallback, the override."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from stargate.errors import ConfigError
from stargate.providers.bedrock.claude_features import FEATURES_ENV, ClaudeFeatures
from stargate.providers.bedrock.model_ids import claude_model_name

TABLE = ClaudeFeatures.load({})
FOUR_X = {
    "interleaved-thinking-2025-05-14",
    "context-management-2025-06-27",
    "token-efficient-tools-2025-02-19",
    "fine-grained-tool-streaming-2025-05-14",
}
CONTEXT_1M = "context-1m-2025-08-07"
EFFORT = "effort-2025-11-24"
NEVER_ON_BEDROCK = {
    "claude-code-20250219",
    "prompt-caching-scope-2026-01-05",
    "mid-conversation-system-2026-04-07",
    "thinking-token-count-2026-05-13",
    "redact-thinking-2026-02-12",
    "structured-outputs-2025-12-15",
    "fallback-credit-2026-06-01",
    "token-counting-2024-11-01",
    "oauth-2025-04-20",
}

# family: (betas, cache ttl, extended thinking, adaptive thinking), as the facts give them
EXPECTED = {
    "claude-3-haiku": (set(), False, False, False),
    "claude-3-5-haiku": (set(), False, False, False),
    "claude-sonnet-4": (FOUR_X | {CONTEXT_1M}, False, True, False),
    "claude-opus-4": (FOUR_X, False, True, False),
    "claude-opus-4-1": (FOUR_X, False, True, False),
    "claude-haiku-4-5": (FOUR_X, True, True, False),
    "claude-sonnet-4-5": (FOUR_X | {CONTEXT_1M}, True, True, False),
    "claude-opus-4-5": (FOUR_X | {EFFORT}, True, True, False),
    "claude-sonnet-4-6": (FOUR_X | {CONTEXT_1M, EFFORT}, True, True, True),
    "claude-opus-4-6": (FOUR_X | {EFFORT}, True, True, True),
}


def test_the_shipped_table_is_the_facts() -> None:
    assert set(TABLE.families) == set(EXPECTED)
    for name, (betas, ttl, thinking, adaptive) in EXPECTED.items():
        row = TABLE.families[name]
        features = (set(row.betas), row.cache_ttl, row.extended_thinking, row.adaptive_thinking)
        assert features == (betas, ttl, thinking, adaptive)
        assert row.context_1m == (CONTEXT_1M in betas)
        assert row.effort == (EFFORT in betas)
        assert not row.betas & NEVER_ON_BEDROCK
    assert TABLE.source == "the packaged claude_features.json"


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku"),
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku"),
        ("eu.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("us.anthropic.claude-opus-4-20250514-v1:0", "claude-opus-4"),
        ("us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
        ("apac.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("us.anthropic.claude-opus-4-5-20251101-v1:0", "claude-opus-4-5"),
        ("anthropic.claude-sonnet-4-6", "claude-sonnet-4-6"),
        ("global.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "claude-haiku-4-5",
        ),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "claude-3-haiku",
        ),
    ],
)
def test_model_ids_find_their_family(model_id: str, family: str) -> None:
    assert TABLE.family(claude_model_name(model_id)).name == family


@pytest.mark.parametrize(
    "name",
    [
        "claude-opus-4-8",
        "claude-sonnet-4-8-20270101-v1:0",
        "claude-sonnet-5",
        "claude-3-7-sonnet-20250219-v1:0",
        "claude-haiku-4-5x",
        None,
    ],
)
def test_unknown_families_get_the_most_conservative_row(name: str | None) -> None:
    row = TABLE.family(name)
    assert row is TABLE.fallback
    assert row.betas == frozenset()
    assert not row.cache_ttl
    assert not row.extended_thinking
    assert not row.adaptive_thinking


def test_the_fallback_is_the_intersection_of_the_rows() -> None:
    text = orjson.dumps(
        {
            "families": {
                "claude-a": {
                    "betas": ["x", "y"],
                    "cache_ttl": True,
                    "extended_thinking": True,
                    "adaptive_thinking": True,
                },
                "claude-b": {
                    "betas": ["y", "z"],
                    "cache_ttl": True,
                    "extended_thinking": True,
                    "adaptive_thinking": False,
                },
            }
        }
    ).decode()
    table = ClaudeFeatures.parse(text, source="test")
    assert table.fallback.betas == frozenset({"y"})
    assert table.fallback.cache_ttl
    assert table.fallback.extended_thinking
    assert not table.fallback.adaptive_thinking


def test_an_override_file_replaces_the_table(tmp_path: Path) -> None:
    override = tmp_path / "features.json"
    override.write_text(
        '{"families": {"claude-opus-4-8": '
        '{"betas": ["effort-2025-11-24"], "cache_ttl": true, "extended_thinking": true, '
        '"adaptive_thinking": true}}}'
    )
    table = ClaudeFeatures.load({FEATURES_ENV: str(override)})
    row = table.family("claude-opus-4-8-v1")
    assert row.name == "claude-opus-4-8"
    assert row.effort
    assert row.adaptive_thinking
    assert table.family("claude-sonnet-4-5-20250929-v1:0") is table.fallback
    assert str(override) in table.source


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"families": {}}', "non-empty"),
        ('{"families": {"claude-a": {"betas": []}}, "extra": 1}', "unknown keys"),
        (
            '{"families": {"gpt-4": {"betas": [], "cache_ttl": true, "adaptive_thinking": true}}}',
            "family name",
        ),
        ('{"families": {"claude-a": {"betas": [], "cache_ttl": true}}}', "exactly the keys"),
        (
            '{"families": {"claude-a": '
            '{"betas": "x", "cache_ttl": true, "extended_thinking": true, '
            '"adaptive_thinking": true}}}',
            "'betas'",
        ),
        (
            '{"families": {"claude-a": {"betas": [], "cache_ttl": 1, '
            '"extended_thinking": true, "adaptive_thinking": true}}}',
            "'cache_ttl'",
        ),
        (
            '{"families": {"claude-a": {"betas": [], "cache_ttl": true, '
            '"extended_thinking": false, "adaptive_thinking": true}}}',
            "needs extended_thinking",
        ),
    ],
)
def test_a_malformed_override_is_a_config_error(tmp_path: Path, content: str, problem: str) -> None:
    override = tmp_path / "features.json"
    override.write_text(content)
    with pytest.raises(ConfigError, match=problem) as caught:
        ClaudeFeatures.load({FEATURES_ENV: str(override)})
    assert FEATURES_ENV in str(caught.value)


def test_a_missing_override_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        ClaudeFeatures.load({FEATURES_ENV: str(tmp_path / "absent.json")})
