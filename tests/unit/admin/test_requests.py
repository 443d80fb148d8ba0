"""Request bodies: LiteLLM's fields checked, unknown ones ignored, money exact, and every
refusal a 400 naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from stargate.admin.context import policy_changes
from stargate.admin.fields import parse_body, usd
from stargate.admin.requests import (
    GenerateKeyRequest,
    MemberAddRequest,
    NewTeamRequest,
    NewUserRequest,
    RegenerateKeyRequest,
    TierApplyRequest,
)
from stargate.errors import InvalidRequest
from stargate.store.limits import BudgetLimit


def refusal(model: type[Any], body: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_body(model, body)
    assert caught.value.status == 400
    return caught.value


def test_usd_amounts_become_exact_micro_dollars() -> None:
    body = {
        "max_budget": 0.017,
        "budget_duration": "1d",
        "budget_limits": [{"max_budget": 0.5, "budget_duration": "1mo"}],
    }
    changes = policy_changes(parse_body(GenerateKeyRequest, body))
    assert changes["max_budget_micro"] == 17_000
    assert changes["budget_limits"] == (BudgetLimit(500_000, "1mo"),)
    # 0.1 + 0.2 as a JSON number is 0.30000000000000004: kept as written; a limit drops the
    # fraction of a micro-dollar rather than grow by it.
    tricky = parse_body(GenerateKeyRequest, {"max_budget": 0.1 + 0.2})
    assert tricky.max_budget == Decimal("0.30000000000000004")
    assert policy_changes(tricky)["max_budget_micro"] == 300_000


def test_micro_dollars_show_as_the_usd_numbers_litellm_shows() -> None:
    assert usd(17_000) == 0.017
    assert usd(500_000) == 0.5
    assert usd(None) is None


def test_unknown_litellm_fields_are_ignored() -> None:
    body = {"key_alias": "a", "guardrails": ["x"], "tags": ["t"], "key_type": "llm_api"}
    assert parse_body(GenerateKeyRequest, body).key_alias == "a"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"max_budget": "ten"}, "max_budget"),
        ({"max_budget": True}, "max_budget"),
        ({"max_budget": -1}, "max_budget"),
        ({"max_budget": 10**10}, "max_budget"),
        ({"rpm_limit": 1.5}, "rpm_limit"),
        ({"models": "claude-haiku-4-5"}, "models"),
        ({"budget_duration": "fortnightly"}, "budget_duration"),
        ({"duration": "1y"}, "duration"),
        ({"budget_limits": [{"max_budget": 1}]}, "budget_limits.0.budget_duration"),
        ({"budget_limits": [{"max_budget": "x", "budget_duration": "1d"}]},
         "budget_limits.0.max_budget"),
        ({"model_rpm_limit": {"claude-haiku-4-5": "many"}}, "model_rpm_limit.claude-haiku-4-5"),
        ({"metadata": [1, 2]}, "metadata"),
        ({"key": "not-a-key"}, "key"),
    ],
)  # fmt: skip
def test_a_wrong_type_is_a_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    assert refusal(GenerateKeyRequest, body).param == param


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert "JSON object" in refusal(GenerateKeyRequest, ["models"]).message


@pytest.mark.parametrize("name", ["model_max_budget", "temp_budget_increase", "budget_id"])
def test_limits_stargate_does_not_enforce_are_refused_not_ignored(name: str) -> None:
    error = refusal(GenerateKeyRequest, {name: {"claude-haiku-4-5": 1}})
    assert error.param == name
    assert "not supported" in error.message
    assert parse_body(GenerateKeyRequest, {name: None}).key is None  # null is harmless


def test_a_grace_period_on_regenerate_is_refused() -> None:
    assert refusal(RegenerateKeyRequest, {"key": "sk-x", "grace_period": "24h"}).param == (
        "grace_period"
    )


def test_user_roles_are_litellms() -> None:
    assert parse_body(NewUserRequest, {"user_role": "internal_user_viewer"}).user_role
    assert refusal(NewUserRequest, {"user_role": "superuser"}).param == "user_role"


def test_users_join_teams_by_id_or_object() -> None:
    request = parse_body(NewUserRequest, {"teams": ["t1", {"team_id": "t2", "user_role": "admin"}]})
    assert request.teams is not None
    assert request.teams[0] == "t1"
    assert refusal(NewUserRequest, {"teams": [5]}).param == "teams.0"


def test_members_need_a_user_id_or_email_and_a_known_role() -> None:
    assert refusal(MemberAddRequest, {"team_id": "t", "member": {"role": "user"}}).param == (
        "member"
    )
    one = {"team_id": "t", "member": [{"user_id": "u", "role": "boss"}]}
    assert refusal(MemberAddRequest, one).param == "member.0.role"
    many = parse_body(MemberAddRequest, {"team_id": "t", "member": [{"user_email": "a@b.c"}]})
    assert isinstance(many.member, list)
    assert refusal(NewTeamRequest, {"members_with_roles": [{}]}).param == "members_with_roles.0"


def test_seed_tiers_yaml_shape_and_its_spelled_out_aliases() -> None:
    seed = {
        "drafting": {
            "name": "Drafting",
            "budget_daily": 0.017,
            "budget_monthly": 0.50,
            "allowed_models": ["model-cheap"],
        }
    }
    tier = parse_body(TierApplyRequest, {"tiers": seed}).tiers["drafting"]
    aliased = {"drafting": {"daily_budget": 0.017, "monthly_cap": 0.5, "models": ["model-cheap"]}}
    same = parse_body(TierApplyRequest, {"tiers": aliased}).tiers["drafting"]
    assert (tier.budget_daily, tier.budget_monthly, tier.allowed_models) == (
        same.budget_daily,
        same.budget_monthly,
        same.allowed_models,
    )
    both = {"drafting": {"budget_daily": 1, "daily_budget": 2}}
    assert "disagree" in refusal(TierApplyRequest, {"tiers": both}).message
    assert refusal(TierApplyRequest, {"tiers": {}}).param == "tiers"


@pytest.mark.parametrize(
    ("written", "kept"),
    [("monthly", "monthly"), ("daily", "daily"), ("weekly", "weekly"), (" 1d ", "1d"),
     ("30d", "30d"), ("1mo", "1mo"), ("24h", "24h"), ("30s", "30s")],
)  # fmt: skip
def test_budget_durations_in_litellm_form_or_seed_words_are_kept_as_written(
    written: str, kept: str
) -> None:
    request = parse_body(GenerateKeyRequest, {"budget_duration": written, "duration": written})
    assert (request.budget_duration, request.duration) == (kept, kept)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"duration": "99999999d"}, "duration"),
        ({"duration": "100000mo"}, "duration"),
        ({"budget_duration": "9" * 40 + "d"}, "budget_duration"),
        ({"max_parallel_requests": 2**31}, "max_parallel_requests"),
        ({"key_alias": "a" * 256}, "key_alias"),
    ],
)
def test_values_beyond_what_the_columns_and_calendar_hold_are_refused(
    body: dict[str, Any], param: str
) -> None:
    assert refusal(GenerateKeyRequest, body).param == param
