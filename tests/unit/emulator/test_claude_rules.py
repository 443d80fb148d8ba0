"""The per-family table of what Bedrock accepts in a Claude InvokeModel body."""

from __future__ import annotations

import pytest

from stargate.emulator.claude_rules import (
    BETA_CONTEXT_1M,
    BETA_EFFORT,
    CLAUDE_4_BETAS,
    CLAUDE_RULES,
    NEVER_ACCEPTED_BETAS,
    claude_rules,
)
from stargate.emulator.models import CATALOG

FAMILY_BETAS = {
    "haiku-4-5": CLAUDE_4_BETAS,
    "sonnet-4": CLAUDE_4_BETAS | {BETA_CONTEXT_1M},
    "sonnet-4-5": CLAUDE_4_BETAS | {BETA_CONTEXT_1M},
    "opus-4-1": CLAUDE_4_BETAS,
    "opus-4-5": CLAUDE_4_BETAS | {BETA_EFFORT},
    "sonnet-4-6": CLAUDE_4_BETAS | {BETA_CONTEXT_1M, BETA_EFFORT},
    "opus-4-6": CLAUDE_4_BETAS | {BETA_EFFORT},
    "3-5-haiku": frozenset(),
    "3-haiku": frozenset(),
}


def test_every_claude_model_in_the_catalog_has_rules_and_no_other_model_does() -> None:
    for spec in CATALOG:
        assert (claude_rules(spec.model_id) is not None) == (spec.provider == "anthropic")
    assert set(CLAUDE_RULES) <= {spec.model_id for spec in CATALOG}


@pytest.mark.parametrize("family", sorted(FAMILY_BETAS))
def test_each_family_accepts_exactly_its_betas(family: str) -> None:
    [rules] = [rules for rules in CLAUDE_RULES.values() if rules.family == family]

    assert rules.betas == FAMILY_BETAS[family]
    assert not rules.betas & NEVER_ACCEPTED_BETAS


def test_cache_ttl_and_adaptive_thinking_belong_to_the_newer_families() -> None:
    ttl = {rules.family for rules in CLAUDE_RULES.values() if rules.cache_ttl}
    adaptive = {rules.family for rules in CLAUDE_RULES.values() if rules.adaptive_thinking}
    no_thinking = {rules.family for rules in CLAUDE_RULES.values() if not rules.extended_thinking}

    assert ttl == {"haiku-4-5", "sonnet-4-5", "opus-4-5", "sonnet-4-6", "opus-4-6"}
    assert adaptive == {"sonnet-4-6", "opus-4-6"}
    assert no_thinking == {"3-5-haiku", "3-haiku"}


def test_model_names_are_the_anthropic_names_of_the_base_ids() -> None:
    for model_id, rules in CLAUDE_RULES.items():
        assert model_id.startswith(f"anthropic.{rules.model_name}")
        assert rules.model_name.startswith("claude-")
