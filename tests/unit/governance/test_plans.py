"""Admission plans kept per principal and model: the same as planning afresh, for as long as every
budget window stays in its instance, and never for limits that were replaced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from stargate.governance.admission import (
    AdmissionRequest,
    BudgetCheck,
    ScopeCheck,
    ScopeChecks,
    plan_admission,
)
from stargate.governance.plans import PlanCache
from stargate.governance.policy import BudgetWindow, Limits
from stargate.governance.pricing import Pricing
from stargate.governance.windows import CalendarWindow, FixedWindow, LifetimeWindow

NOW = datetime(2026, 11, 22, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
BERLIN_DAY = CalendarWindow("day", 1, "Europe/Berlin")
MONTH = CalendarWindow("month")
PRICES = Pricing(input=Decimal("0.000003"), output=Decimal("0.000015"))


def scopes() -> tuple[tuple[str, Limits], ...]:
    return (
        ("key:k", Limits(budgets=(BudgetWindow(5_000, BERLIN_DAY),), rpm=10, tpm=1000,
                         max_parallel=2, model_rpm={"m": 3})),
        ("user:u", Limits(budgets=(BudgetWindow(9_000, MONTH),
                                   BudgetWindow(7_000, LifetimeWindow())))),
        ("team:t", Limits(budgets=(BudgetWindow(8_000, FixedWindow(3600)),), rpm=100)),
    )  # fmt: skip


Scopes = tuple[tuple[str, Limits], ...]


def fresh(scopes: Scopes, now: datetime, rid: str = "r") -> AdmissionRequest:
    return plan_admission(scopes, request_id=rid, model="m", now=now, prompt_tokens=10,
                          max_tokens=20, pricing=PRICES, lease_seconds=60)  # fmt: skip


def cached(cache: PlanCache, scopes: Scopes, now: datetime, rid: str = "r") -> AdmissionRequest:
    plan = cache.plan("k", scopes, "m", now)
    return plan.admission(rid, now, reserve_micro=PRICES.worst_case_micro(10, 20),
                          reserve_tokens=30, lease_seconds=60)  # fmt: skip


def test_a_kept_plan_admits_exactly_what_planning_afresh_would() -> None:
    cache, limits = PlanCache(), scopes()
    for minutes in range(0, 240, 7):  # across the hour, the Berlin midnight, and back
        now = NOW + timedelta(minutes=minutes)
        assert cached(cache, limits, now) == fresh(limits, now)


def test_the_plan_is_reused_while_every_window_instance_holds() -> None:
    cache, limits = PlanCache(), scopes()
    first = cache.plan("k", limits, "m", NOW)
    assert cache.plan("k", limits, "m", NOW + timedelta(minutes=29, seconds=59)) is first
    assert cache.plan("k", limits, "other", NOW) is not first  # per model: model_rpm differs
    assert len(cache) == 2


def test_a_window_rolling_over_gives_the_new_instance() -> None:
    cache, limits = PlanCache(), scopes()
    before = cache.plan("k", limits, "m", NOW + timedelta(minutes=29))  # 23:59 Berlin, 22:59 UTC
    after = cache.plan("k", limits, "m", NOW + timedelta(minutes=31))  # 00:01 Berlin, 23:01 UTC
    keys = [b.window_key for _, b in after.checks.budgets]
    assert [b.window_key for _, b in before.checks.budgets] != keys
    assert "d:2026-11-23@Europe/Berlin" in keys
    assert keys[-1] == f"1h:{int(datetime(2026, 11, 22, 23, tzinfo=UTC).timestamp())}"
    # a clock moved back gives the older instance again, never a stale one
    again = cache.plan("k", limits, "m", NOW)
    assert again.checks.budgets[0][1].window_key == "d:2026-11-22@Europe/Berlin"


def test_new_limits_are_a_new_plan_at_once() -> None:
    cache = PlanCache()
    old = scopes()
    cache.plan("k", old, "m", NOW)
    key, user, _ = old
    lowered = (key, user, ("team:t", Limits(budgets=(BudgetWindow(1, FixedWindow(3600)),))))
    plan = cache.plan("k", lowered, "m", NOW)
    assert plan.scopes is lowered
    assert plan.checks[-1] == ScopeCheck(
        "team:t", (BudgetCheck(f"1h:{int(NOW.timestamp()) // 3600 * 3600}", 1, plan.until),)
    )


def test_plans_past_capacity_forget_the_oldest() -> None:
    cache = PlanCache(capacity=2)
    principals = [scopes() for _ in range(3)]
    plans = [cache.plan(f"k{i}", p, "m", NOW) for i, p in enumerate(principals)]
    assert len(cache) == 2
    assert cache.plan("k2", principals[2], "m", NOW) is plans[2]
    assert cache.plan("k0", principals[0], "m", NOW) is not plans[0]  # forgotten, planned again


def test_a_key_loaded_again_replaces_its_plan() -> None:
    cache = PlanCache()
    for _ in range(5):  # the directory loads the key again every few seconds
        reloaded = scopes()
        assert cache.plan("k", reloaded, "m", NOW).scopes is reloaded
    assert len(cache) == 1


def test_authorization_is_skipped_only_when_no_scope_could_refuse() -> None:
    cache = PlanCache()
    open_ = cache.plan("k", scopes(), "m", NOW)
    assert not open_.needs_authorize(NOW)
    expiring = (("key:k", Limits(rpm=1, expires_at=NOW + timedelta(hours=1))),)
    plan = cache.plan("k", expiring, "m", NOW)
    assert not plan.needs_authorize(NOW)
    assert plan.needs_authorize(NOW + timedelta(hours=1))  # expired: authorize refuses it
    for limits in (Limits(blocked=True), Limits(models=("other",)), Limits(models=("group:g",))):
        assert cache.plan("k", (("key:k", limits),), "m", NOW).needs_authorize(NOW)


@pytest.mark.parametrize("models", [("m",), ("other", "m"), ("all-proxy-models",), ("m*",)])
def test_a_model_allowed_by_its_name_needs_no_authorization(models: tuple[str, ...]) -> None:
    # The name alone allows it, whatever the model's access groups become: nothing to ask.
    plan = PlanCache().plan("k", (("key:k", Limits(models=models)), ("team:t", Limits())), "m", NOW)
    assert not plan.needs_authorize(NOW)


def test_a_model_a_scope_may_allow_only_by_its_access_groups_is_authorized_every_time() -> None:
    # The groups of a model change with the deployments: each request asks them again.
    cache = PlanCache()
    for models in (("group:g",), ("g",), ("other", "group:g")):
        scopes = (("key:k", Limits(models=("m",))), ("team:t", Limits(models=models)))
        assert cache.plan("k", scopes, "m", NOW).needs_authorize(NOW)


def test_checks_are_validated_once_and_equal_to_their_plain_tuple() -> None:
    check = ScopeCheck("key:k", (BudgetCheck("all", 1, None),), rpm=1, tpm=2)
    checks = ScopeChecks([check])
    assert checks == (check,)
    assert checks.windows == (("key:k", "all"),)
    assert checks.rates == ((check, "requests", 1), (check, "tokens", 2))
    request = AdmissionRequest("r", checks, 0, 0, NOW, 1)
    assert request.checks is checks
    assert type(AdmissionRequest("r", (check,), 0, 0, NOW, 1).checks) is ScopeChecks
    with pytest.raises(ValueError, match="once"):
        ScopeChecks([check, check])
    with pytest.raises(ValueError, match="twice"):
        AdmissionRequest("r", (ScopeCheck("key:k", (BudgetCheck("all", 1, None),) * 2),),
                         0, 0, NOW, 1)  # fmt: skip
