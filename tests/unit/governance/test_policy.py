"""Model allow-lists, LiteLLM budgets as micro-dollars, and the outright refusals (blocked,
expired, model not allowed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from stargate.errors import AuthenticationFailed, ModelAccessDenied, PermissionDenied
from stargate.governance.policy import (
    BudgetWindow,
    Limits,
    authorize,
    budget_window,
    limit_micro_from_usd,
    model_allowed,
    model_allowed_by_name,
    scope_kind,
)
from stargate.governance.windows import CalendarWindow, LifetimeWindow

GROUPS = {
    "claude-haiku-4-5": frozenset({"cheap", "beta-models"}),
    "claude-opus-4-5": frozenset({"premium"}),
}
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def groups_of(model: str) -> frozenset[str]:
    return GROUPS.get(model, frozenset())


def allowed(models: tuple[str, ...], model: str) -> bool:
    return model_allowed(Limits(models=models), model, groups_of)


def test_an_empty_list_and_all_proxy_models_allow_everything() -> None:
    assert allowed((), "anything-at-all")
    assert allowed(("all-proxy-models",), "claude-opus-4-5")


def test_exact_names_allow_only_themselves() -> None:
    assert allowed(("claude-haiku-4-5",), "claude-haiku-4-5")
    assert not allowed(("claude-haiku-4-5",), "claude-opus-4-5")
    assert not allowed(("claude-haiku-4-5",), "claude-haiku-4-5-extended")
    assert not allowed(("claude-haiku-4-5",), "CLAUDE-HAIKU-4-5")


def test_wildcards_match_any_text_and_nothing_else_is_special() -> None:
    assert allowed(("claude-*",), "claude-opus-4-5")
    assert allowed(("*-haiku-*",), "claude-haiku-4-5")
    assert allowed(("*",), "model-cheap")
    assert not allowed(("claude-*",), "model-cheap")
    assert not allowed(("claude-*",), "xclaude-opus")
    assert not allowed(("claude.*",), "claude-opus")  # a dot is a dot, not "any character"
    assert allowed(("model-[a]*",), "model-[a]-x")  # brackets are literal


def test_access_groups_match_by_group_prefix_or_bare_name_like_litellm() -> None:
    assert allowed(("group:cheap",), "claude-haiku-4-5")
    assert allowed(("beta-models",), "claude-haiku-4-5")
    assert not allowed(("group:cheap",), "claude-opus-4-5")
    assert not allowed(("group:unknown",), "claude-haiku-4-5")
    assert allowed(("claude-haiku-4-5", "group:premium"), "claude-opus-4-5")


def test_groups_are_only_looked_up_when_an_entry_needs_them() -> None:
    asked: list[str] = []

    def spy(model: str) -> frozenset[str]:
        asked.append(model)
        return frozenset()

    assert model_allowed(Limits(models=("claude-*",)), "claude-x", spy)
    assert asked == []
    assert not model_allowed(Limits(models=("a", "group:b", "c")), "claude-x", spy)
    assert asked == ["claude-x"]


def test_litellm_budgets_become_exact_micro_dollars() -> None:
    assert limit_micro_from_usd(0.017) == 17_000  # a JSON float, by its text
    assert limit_micro_from_usd(0.1) == 100_000
    assert limit_micro_from_usd("0.50") == 500_000
    assert limit_micro_from_usd(10) == 10_000_000
    assert limit_micro_from_usd(Decimal("0.0000019")) == 1  # a fraction of a micro is dropped
    for bad in (-1, float("nan"), float("inf"), "abc"):
        with pytest.raises((ValueError, ArithmeticError)):
            limit_micro_from_usd(bad)


def test_budget_window_pairs_max_budget_with_budget_duration() -> None:
    assert budget_window(0.033, "1d", timezone="Europe/Berlin") == BudgetWindow(
        33_000, CalendarWindow("day", 1, "Europe/Berlin")
    )
    assert budget_window(10, None) == BudgetWindow(10_000_000, LifetimeWindow())


def test_limits_refuse_negative_values() -> None:
    with pytest.raises(ValueError):
        Limits(rpm=-1)
    with pytest.raises(ValueError):
        Limits(model_tpm={"m": -5})
    with pytest.raises(ValueError):
        BudgetWindow(-1, LifetimeWindow())


def test_scope_kind_is_the_part_before_the_first_colon() -> None:
    assert scope_kind("key:abc") == "key"
    assert scope_kind("member:team-1:user:odd") == "member"
    assert scope_kind("key:abc:model:claude") == "key"


def test_authorize_passes_a_request_every_scope_allows() -> None:
    scopes = [("key:h", Limits(models=("claude-*",))), ("team:t", Limits(models=("group:cheap",)))]
    authorize(scopes, "claude-haiku-4-5", now=NOW, access_groups_of=groups_of)


def test_a_model_outside_the_list_is_a_403_naming_the_scope_kind() -> None:
    scopes = [("key:h", Limits()), ("team:t", Limits(models=("claude-haiku-4-5",)))]
    with pytest.raises(ModelAccessDenied) as caught:
        authorize(scopes, "claude-opus-4-5", now=NOW, access_groups_of=groups_of)
    err = caught.value
    assert isinstance(err, PermissionDenied)
    assert err.status == 403
    assert err.openai_type == "team_model_access_denied"
    assert err.anthropic_type == "permission_error"
    assert "claude-opus-4-5" in err.message


def test_blocked_or_expired_scopes_are_a_401() -> None:
    with pytest.raises(AuthenticationFailed, match="key is blocked"):
        authorize([("key:h", Limits(blocked=True))], "m", now=NOW, access_groups_of=groups_of)
    expired = Limits(expires_at=NOW - timedelta(seconds=1))
    with pytest.raises(AuthenticationFailed, match="user has expired"):
        authorize([("user:u", expired)], "m", now=NOW, access_groups_of=groups_of)
    still_valid = Limits(expires_at=NOW + timedelta(seconds=1))
    authorize([("key:h", still_valid)], "m", now=NOW, access_groups_of=groups_of)


@pytest.mark.parametrize(
    "models",
    [(), ("all-proxy-models",), ("claude-haiku-4-5",), ("claude-*",), ("*-4-5",),
     ("premium", "claude-haiku-4-5"), ("group:cheap",), ("cheap",), ("premium",),
     ("claude-opus-4-5",), ("group:premium", "claude-opus-*"), ("*",)],
)  # fmt: skip
def test_allowed_by_name_alone_implies_allowed_whatever_the_groups(models: tuple[str, ...]) -> None:
    limits = Limits(models=models)
    for model in ("claude-haiku-4-5", "claude-opus-4-5", "model-cheap"):
        by_name = model_allowed_by_name(limits, model)
        for groups in (frozenset(), frozenset({"cheap"}), frozenset({"premium", "cheap"})):
            allowed_now = model_allowed(limits, model, lambda _, g=groups: g)  # type: ignore[misc]
            assert allowed_now or not by_name
        # Not allowed by name: only an access group can allow it (and without one, nothing does).
        assert by_name or not model_allowed(limits, model, lambda _: frozenset())


def test_allowed_by_name_is_the_name_the_wildcards_or_all_models() -> None:
    assert model_allowed_by_name(Limits(), "m")
    assert model_allowed_by_name(Limits(models=("x", "m")), "m")
    assert model_allowed_by_name(Limits(models=("m-*",)), "m-1")
    assert not model_allowed_by_name(Limits(models=("group:m",)), "m")
    assert not model_allowed_by_name(Limits(models=("m-*",)), "m")
