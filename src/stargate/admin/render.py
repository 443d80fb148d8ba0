"""Records → the JSON objects LiteLLM shows: money in USD numbers, times in ISO 8601.

A key is shown by its hash (``token``) and hint (``key_name``); the key itself only ever appears
in the answer that made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stargate.admin.fields import iso, usd
from stargate.store.budgets import BudgetRecord
from stargate.store.keys import KeyRecord
from stargate.store.limits import BudgetLimit
from stargate.store.teams import MemberRecord, TeamRecord
from stargate.store.users import UserRecord

__all__ = [
    "render_budget",
    "render_budget_limits",
    "render_key",
    "render_member",
    "render_team",
    "render_user",
]


def render_budget_limits(limits: Sequence[BudgetLimit]) -> list[dict[str, Any]]:
    return [
        {"max_budget": usd(limit.max_budget_micro), "budget_duration": limit.budget_duration}
        for limit in limits
    ]


def render_key(key: KeyRecord) -> dict[str, Any]:
    return {
        "token": key.key_hash,
        "key_name": key.key_prefix,
        "key_alias": key.key_alias,
        "key_id": key.key_id,
        "user_id": key.user_id,
        "team_id": key.team_id,
        "models": list(key.models),
        "max_budget": usd(key.max_budget_micro),
        "budget_duration": key.budget_duration,
        "budget_limits": render_budget_limits(key.budget_limits),
        "soft_budget": usd(key.soft_budget_micro),
        "rpm_limit": key.rpm_limit,
        "tpm_limit": key.tpm_limit,
        "max_parallel_requests": key.max_parallel_requests,
        "model_rpm_limit": dict(key.model_rpm_limit),
        "model_tpm_limit": dict(key.model_tpm_limit),
        "metadata": dict(key.metadata),
        "blocked": key.blocked,
        "expires": iso(key.expires_at),
        "created_at": iso(key.created_at),
        "updated_at": iso(key.updated_at),
    }


def render_user(user: UserRecord, teams: Sequence[str] | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "user_id": user.user_id,
        "user_email": user.user_email,
        "user_alias": user.user_alias,
        "user_role": user.user_role,
        "models": list(user.models),
        "max_budget": usd(user.max_budget_micro),
        "budget_duration": user.budget_duration,
        "budget_limits": render_budget_limits(user.budget_limits),
        "rpm_limit": user.rpm_limit,
        "tpm_limit": user.tpm_limit,
        "max_parallel_requests": user.max_parallel_requests,
        "metadata": dict(user.metadata),
        "blocked": user.blocked,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
    }
    if teams is not None:
        shown["teams"] = list(teams)
    return shown


def render_member(member: MemberRecord, user: UserRecord | None) -> dict[str, Any]:
    return {
        "team_id": member.team_id,
        "user_id": member.user_id,
        "user_email": user.user_email if user is not None else None,
        "role": member.role,
        "max_budget_in_team": usd(member.max_budget_micro),
        "budget_duration": member.budget_duration,
        "created_at": iso(member.created_at),
    }


def render_team(
    team: TeamRecord,
    members: Sequence[MemberRecord] = (),
    users: Mapping[str, UserRecord] | None = None,
) -> dict[str, Any]:
    users = users or {}
    return {
        "team_id": team.team_id,
        "team_alias": team.team_alias,
        "models": list(team.models),
        "max_budget": usd(team.max_budget_micro),
        "budget_duration": team.budget_duration,
        "budget_limits": render_budget_limits(team.budget_limits),
        "rpm_limit": team.rpm_limit,
        "tpm_limit": team.tpm_limit,
        "max_parallel_requests": team.max_parallel_requests,
        "model_rpm_limit": dict(team.model_rpm_limit),
        "model_tpm_limit": dict(team.model_tpm_limit),
        "tier": team.tier,
        "metadata": dict(team.metadata),
        "blocked": team.blocked,
        "members_with_roles": [
            {
                "user_id": m.user_id,
                "user_email": users[m.user_id].user_email if m.user_id in users else None,
                "role": m.role,
            }
            for m in members
        ],
        "created_at": iso(team.created_at),
        "updated_at": iso(team.updated_at),
    }


def render_budget(budget: BudgetRecord) -> dict[str, Any]:
    return {
        "budget_id": budget.budget_id,
        "max_budget": usd(budget.max_budget_micro),
        "budget_duration": budget.budget_duration,
        "budget_limits": render_budget_limits(budget.budget_limits),
        "rpm_limit": budget.rpm_limit,
        "tpm_limit": budget.tpm_limit,
        "max_parallel_requests": budget.max_parallel_requests,
        "models": list(budget.models),
        "metadata": dict(budget.metadata),
        "created_at": iso(budget.created_at),
        "updated_at": iso(budget.updated_at),
    }
