"""Budget progress for the budgets page and the overview: every key, user, team and team
member that has a budget, with each window's spend, limit and reset time (from the admin
service's spend reader, i.e. the ledger), most-used first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stargate.admin.render import render_member
from stargate.admin.service import AdminService
from stargate.admin.spend import add_spend, member_scope

__all__ = ["MAX_PER_KIND", "BudgetBar", "budget_bars"]

MAX_PER_KIND = 500  # the page lists at most this many keys (and users, teams, members)


@dataclass(frozen=True, slots=True)
class BudgetBar:
    kind: str  # key | user | team | member
    name: str
    link: str
    window: str  # "1d", "1mo", or "lifetime"
    spend: float  # USD (display only)
    limit: float
    reset_at: str | None

    @property
    def used(self) -> float:
        return 0.0 if self.limit <= 0 else self.spend / self.limit

    @property
    def percent(self) -> int:
        return min(999, round(100 * self.used))


def _bars(kind: str, name: str, link: str, shown: dict[str, Any]) -> list[BudgetBar]:
    return [
        BudgetBar(
            kind,
            name,
            link,
            window["budget_duration"] or "lifetime",
            float(window["spend"] or 0),
            float(window["max_budget"] or 0),
            window["reset_at"],
        )
        for window in shown.get("budget_windows", ())
    ]


async def budget_bars(service: AdminService) -> tuple[list[BudgetBar], bool]:
    """Every budget window, fullest first, and whether a kind had more than
    :data:`MAX_PER_KIND` scopes (the rest are not shown)."""
    ctx = service.context
    bars: list[BudgetBar] = []
    truncated = False
    keys = [
        k for k in (await ctx.keys.list()).keys if k.max_budget_micro is not None or k.budget_limits
    ]
    truncated |= len(keys) > MAX_PER_KIND
    for key in keys[:MAX_PER_KIND]:
        name = key.key_alias or key.key_prefix
        bars += _bars("key", name, f"/ui/keys/{key.key_hash}", await service.keys.shown(key))
    users = [
        u
        for u in (await ctx.users.list()).users
        if u.max_budget_micro is not None or u.budget_limits
    ]
    truncated |= len(users) > MAX_PER_KIND
    for user in users[:MAX_PER_KIND]:
        name = user.user_email or user.user_id
        bars += _bars("user", name, f"/ui/users/{user.user_id}", await service.users.shown(user))
    teams = await ctx.teams.list()
    by_id = {team.team_id: team for team in teams}
    with_budget = [t for t in teams if t.max_budget_micro is not None or t.budget_limits]
    truncated |= len(with_budget) > MAX_PER_KIND
    for team in with_budget[:MAX_PER_KIND]:
        name = team.team_alias or team.team_id
        bars += _bars("team", name, f"/ui/teams/{team.team_id}", await service.teams.shown(team))
    members = [m for m in await ctx.teams.members() if m.max_budget_micro is not None]
    truncated |= len(members) > MAX_PER_KIND
    users_of = await ctx.users.get_many([m.user_id for m in members[:MAX_PER_KIND]])
    for member in members[:MAX_PER_KIND]:
        member_user = users_of.get(member.user_id)
        member_team = by_id.get(member.team_id)
        who = (member_user.user_email if member_user else None) or member.user_id
        where = (member_team.team_alias if member_team else None) or member.team_id
        name = f"{who} in {where}"
        shown = await add_spend(
            render_member(member, member_user),
            ctx.spend,
            member_scope(member.team_id, member.user_id),
            member.max_budget_micro,
            member.budget_duration,
        )
        bars += _bars("member", name, f"/ui/teams/{member.team_id}", shown)
    bars.sort(key=lambda bar: (-bar.used, bar.kind, bar.name))
    return bars, truncated
