"""``stargate teams create|list|show|add-member|remove-member`` over ``/team/*``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from stargate.cli.common import (
    BudgetOpt,
    DurationOpt,
    JsonOpt,
    ModelsOpt,
    admin_client,
    handled,
    parse_models,
    usd,
)

__all__ = ["app", "member_ref"]

app = typer.Typer(
    help="Teams: shared budgets and model lists; tiers are teams.", no_args_is_help=True
)

TeamArg = Annotated[str, typer.Argument(help="The team's id or alias.")]
UserArg = Annotated[str, typer.Argument(help="The user's id or email.")]


def member_ref(user: str) -> dict[str, str]:
    """A member named by id, or by email (an unknown email becomes a user with that id)."""
    return {"user_id": user, "user_email": user} if "@" in user else {"user_id": user}


@app.command("create")
@handled
def create(
    alias: Annotated[str | None, typer.Option("--alias", "--name", help="The team's name.")] = None,
    team_id: Annotated[
        str | None, typer.Option("--team-id", help="An id of your choosing (default: generated).")
    ] = None,
    models: ModelsOpt = None,
    budget: BudgetOpt = None,
    duration: DurationOpt = None,
    tier: Annotated[
        str | None, typer.Option("--tier", help="Take this tier's budget and models.")
    ] = None,
    rpm: Annotated[int | None, typer.Option("--rpm", min=0, help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", min=0, help="Tokens per minute.")] = None,
    member: Annotated[
        list[str] | None, typer.Option("--member", help="A member (id or email); repeatable.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a team."""
    from stargate.cli.output import echo_json, say

    body: dict[str, Any] = {
        "team_alias": alias,
        "team_id": team_id,
        "models": parse_models(models),
        "max_budget": usd(budget),
        "budget_duration": duration,
        "tier": tier,
        "rpm_limit": rpm,
        "tpm_limit": tpm,
        "members_with_roles": [member_ref(m) for m in member] if member else None,
    }
    with admin_client() as client:
        team = client.post("/team/new", {k: v for k, v in body.items() if v is not None})
    if as_json:
        echo_json(team)
        return
    say(f"created team {team['team_id']}")
    _print_team(team)


@app.command("list")
@handled
def list_teams(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's teams.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every team with its tier, models, budget, members and keys."""
    from stargate.cli.output import budget, echo_json, models_of, print_table

    with admin_client() as client:
        teams: list[dict[str, Any]] = client.get("/team/list", {"user_id": user})
    if as_json:
        echo_json(teams)
        return
    print_table(
        f"{len(teams)} teams",
        ["team_id", "alias", "tier", "models", "budget", "rpm", "members", "keys", "blocked"],
        [
            [
                t.get("team_id"),
                t.get("team_alias"),
                t.get("tier"),
                models_of(t),
                budget(t),
                t.get("rpm_limit"),
                len(t.get("members_with_roles") or []),
                len(t.get("keys") or []),
                t.get("blocked"),
            ]
            for t in teams
        ],
        empty="no teams",
    )


@app.command("show")
@handled
def show(team: TeamArg, as_json: JsonOpt = False) -> None:
    """A team with its members and keys."""
    from stargate.cli.output import budget, echo_json, print_table

    with admin_client() as client:
        info = client.get("/team/info", {"team_id": team})
    if as_json:
        echo_json(info)
        return
    _print_team(info.get("team_info", {}))
    print_table(
        "members",
        ["user_id", "email", "role", "budget in team"],
        [
            [m.get("user_id"), m.get("user_email"), m.get("role"), budget(m)]
            for m in info.get("team_memberships", [])
        ],
        empty="no members",
    )
    print_table(
        "keys",
        ["key", "alias", "user", "budget", "blocked"],
        [
            [k.get("key_name"), k.get("key_alias"), k.get("user_id"), budget(k), k.get("blocked")]
            for k in info.get("keys", [])
        ],
        empty="no keys",
    )


@app.command("add-member")
@handled
def add_member(
    team: TeamArg,
    user: UserArg,
    role: Annotated[str, typer.Option("--role", help="user or admin.")] = "user",
    budget: BudgetOpt = None,
    duration: DurationOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a user to a team (an unknown email becomes a user), with an optional budget of its
    own inside the team."""
    from stargate.cli.output import echo_json, say

    body: dict[str, Any] = {
        "team_id": team,
        "member": {**member_ref(user), "role": role},
        "max_budget_in_team": usd(budget),
        "budget_duration": duration,
    }
    with admin_client() as client:
        answer = client.post("/team/member_add", {k: v for k, v in body.items() if v is not None})
    if as_json:
        echo_json(answer)
        return
    say(f"{user} is a member ({role}) of team {answer.get('team_alias') or answer.get('team_id')}")


@app.command("remove-member")
@handled
def remove_member(team: TeamArg, user: UserArg, as_json: JsonOpt = False) -> None:
    """Remove a user from a team (the user's keys stay)."""
    from stargate.cli.output import echo_json, say

    with admin_client() as client:
        answer = client.post("/team/member_delete", {"team_id": team, **member_ref(user)})
    if as_json:
        echo_json(answer)
        return
    say(f"{user} is no longer a member of team {answer.get('team_alias') or answer.get('team_id')}")


def _print_team(team: dict[str, Any]) -> None:
    from stargate.cli.output import budget, models_of, print_record

    print_record(
        f"team {team.get('team_alias') or team.get('team_id')}",
        [
            ("team_id", team.get("team_id")),
            ("alias", team.get("team_alias")),
            ("tier", team.get("tier")),
            ("models", models_of(team)),
            ("budget", budget(team)),
            ("rpm / tpm", f"{team.get('rpm_limit') or '-'} / {team.get('tpm_limit') or '-'}"),
            ("members", len(team.get("members_with_roles") or [])),
            ("blocked", team.get("blocked")),
        ],
    )
