"""``stargate users create|list|show|update|delete`` over ``/user/*``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from stargate.cli.common import (
    BudgetOpt,
    DurationOpt,
    JsonOpt,
    ModelsOpt,
    admin_client,
    confirm,
    handled,
    parse_models,
    usd,
)

__all__ = ["app", "create", "list_users"]

app = typer.Typer(help="Internal users: people with budgets, teams and keys.", no_args_is_help=True)

RoleOpt = Annotated[
    str | None,
    typer.Option("--role", help="proxy_admin, proxy_admin_viewer, internal_user, ..."),
]
AliasOpt = Annotated[str | None, typer.Option("--alias", help="A display name.")]
RpmOpt = Annotated[int | None, typer.Option("--rpm", help="Requests per minute.", min=0)]
TpmOpt = Annotated[int | None, typer.Option("--tpm", help="Tokens per minute.", min=0)]


def _policy(
    budget: str | None, duration: str | None, models: str | None, rpm: int | None,
    tpm: int | None,
) -> dict[str, Any]:  # fmt: skip
    fields = {
        "max_budget": usd(budget),
        "budget_duration": duration,
        "models": parse_models(models),
        "rpm_limit": rpm,
        "tpm_limit": tpm,
    }
    return {k: v for k, v in fields.items() if v is not None}


@app.command("create")
@handled
def create(
    email: Annotated[str | None, typer.Option("--email", help="The user's email.")] = None,
    user_id: Annotated[
        str | None, typer.Option("--user-id", help="An id of your choosing (default: generated).")
    ] = None,
    budget: BudgetOpt = None,
    duration: DurationOpt = None,
    alias: AliasOpt = None,
    role: RoleOpt = None,
    models: ModelsOpt = None,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    team: Annotated[
        list[str] | None, typer.Option("--team", help="Join this team (id or alias); repeatable.")
    ] = None,
    with_key: Annotated[
        bool, typer.Option("--with-key", help="Also make a key for the user and show it once.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a user (seed: --email user@example.com --budget 50 --duration monthly)."""
    from stargate.cli.output import echo_json, print_record, say

    body: dict[str, Any] = {
        "user_email": email,
        "user_id": user_id,
        "user_alias": alias,
        "user_role": role,
        "teams": team or None,
        **_policy(budget, duration, models, rpm, tpm),
    }
    body = {k: v for k, v in body.items() if v is not None}
    body["auto_create_key"] = with_key
    with admin_client() as client:
        user = client.post("/user/new", body)
    if as_json:
        echo_json(user)
        return
    say(f"created user {user['user_id']}")
    _print_user(user)
    if user.get("key"):
        print_record("key (shown once, keep it safe)", [("key", user["key"])])


@app.command("list")
@handled
def list_users(
    role: RoleOpt = None,
    email: Annotated[str | None, typer.Option("--email", help="Only this email.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every user (all pages), with budgets and key counts."""
    from stargate.cli.output import budget, echo_json, models_of, print_table

    with admin_client() as client:
        users = client.all_pages(
            "/user/list", "users", {"role": role, "user_email": email}, size_param="page_size"
        )
    if as_json:
        echo_json(users)
        return
    print_table(
        f"{len(users)} users",
        ["user_id", "email", "alias", "role", "teams", "models", "budget", "keys", "blocked"],
        [
            [
                u.get("user_id"),
                u.get("user_email"),
                u.get("user_alias"),
                u.get("user_role"),
                ", ".join(u.get("teams") or []),
                models_of(u),
                budget(u),
                u.get("key_count"),
                u.get("blocked"),
            ]
            for u in users
        ],
        empty="no users",
    )


@app.command("show")
@handled
def show(
    user: Annotated[str, typer.Argument(help="The user's id or email.")],
    as_json: JsonOpt = False,
) -> None:
    """A user with its keys and teams."""
    from stargate.cli.output import budget, echo_json, models_of, print_table

    with admin_client() as client:
        info = client.get("/user/info", {"user_id": user})
    if as_json:
        echo_json(info)
        return
    _print_user(info.get("user_info", {}))
    print_table(
        "keys",
        ["key", "alias", "team", "models", "budget", "blocked", "expires"],
        [
            [
                k.get("key_name"),
                k.get("key_alias"),
                k.get("team_id"),
                models_of(k),
                budget(k),
                k.get("blocked"),
                k.get("expires"),
            ]
            for k in info.get("keys", [])
        ],
        empty="no keys",
    )
    print_table(
        "teams",
        ["team_id", "alias", "tier", "role", "budget in team"],
        [
            [
                t.get("team_id"),
                t.get("team_alias"),
                t.get("tier"),
                (t.get("membership") or {}).get("role"),
                budget(t.get("membership") or {}),
            ]
            for t in info.get("teams", [])
        ],
        empty="in no team",
    )


@app.command("update")
@handled
def update(
    user: Annotated[str, typer.Argument(help="The user's id or email.")],
    email: Annotated[str | None, typer.Option("--email", help="A new email.")] = None,
    budget: BudgetOpt = None,
    duration: DurationOpt = None,
    alias: AliasOpt = None,
    role: RoleOpt = None,
    models: ModelsOpt = None,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    blocked: Annotated[
        bool | None, typer.Option("--block/--unblock", help="Refuse (or allow) its requests.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change the fields given; the others stay as they are."""
    from stargate.cli.output import echo_json, say

    with admin_client() as client:
        found = client.get("/user/info", {"user_id": user})
        body: dict[str, Any] = {
            "user_id": found["user_id"],
            "user_email": email,
            "user_alias": alias,
            "user_role": role,
            "blocked": blocked,
            **_policy(budget, duration, models, rpm, tpm),
        }
        updated = client.post("/user/update", {k: v for k, v in body.items() if v is not None})
    if as_json:
        echo_json(updated)
        return
    say(f"updated user {updated['user_id']}")
    _print_user(updated)


@app.command("delete")
@handled
def delete(
    users: Annotated[list[str], typer.Argument(help="User ids (or emails).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete users with their keys and team memberships."""
    from stargate.cli.output import say

    with admin_client() as client:
        ids = [client.get("/user/info", {"user_id": u})["user_id"] for u in users]
        confirm(f"Delete {len(ids)} user(s) and all their keys?", yes)
        answer = client.post("/user/delete", {"user_ids": ids})
    say(
        f"deleted {len(answer.get('deleted_users', []))} user(s) and "
        f"{answer.get('deleted_keys', 0)} key(s)"
    )


def _print_user(user: dict[str, Any]) -> None:
    from stargate.cli.output import budget, models_of, print_record

    print_record(
        f"user {user.get('user_id')}",
        [
            ("email", user.get("user_email")),
            ("alias", user.get("user_alias")),
            ("role", user.get("user_role")),
            ("teams", ", ".join(user.get("teams") or [])),
            ("models", models_of(user)),
            ("budget", budget(user)),
            ("rpm / tpm", f"{user.get('rpm_limit') or '-'} / {user.get('tpm_limit') or '-'}"),
            ("blocked", user.get("blocked")),
            ("created", user.get("created_at")),
        ],
    )
