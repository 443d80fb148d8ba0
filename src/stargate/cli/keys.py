"""``stargate keys create|list|show|block|unblock|regenerate|delete`` over ``/key/*``.

A key is named by the key itself (``sk-...``), its hash (the ``token`` lists show) or its
alias. The key itself is printed only by ``create`` and ``regenerate``, once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

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
from stargate.cli.errors import ApiError

if TYPE_CHECKING:
    from stargate.cli.client import AdminClient

__all__ = ["app", "create", "list_keys", "resolve_key"]

app = typer.Typer(
    help="Virtual keys: create, inspect, block, rotate, delete.", no_args_is_help=True
)

KeyArg = Annotated[str, typer.Argument(help="The key (sk-...), its hash, or its alias.")]
_HASH = re.compile(r"[0-9a-f]{64}")


def resolve_key(client: AdminClient, key: str) -> str:
    """The key or hash to send for ``key``, looking an alias up."""
    if key.startswith("sk-") or _HASH.fullmatch(key):
        return key
    found = client.get("/key/list", {"key_alias": key, "return_full_object": True, "size": 1})
    keys = found.get("keys") or []
    if not keys:
        raise ApiError(f"no key with alias {key!r}", status=404, param="key_alias")
    return str(keys[0]["token"])


@app.command("create")
@handled
def create(
    alias: Annotated[str | None, typer.Option("--alias", help="A unique name for the key.")] = None,
    models: ModelsOpt = None,
    budget: BudgetOpt = None,
    duration: DurationOpt = None,
    user: Annotated[
        str | None, typer.Option("--user", "--user-id", help="Owner (user id or email).")
    ] = None,
    team: Annotated[
        str | None, typer.Option("--team", "--team-id", help="Team (id or alias).")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Key lifetime (LiteLLM's key duration), e.g. 30d."),
    ] = None,
    rpm: Annotated[int | None, typer.Option("--rpm", min=0, help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", min=0, help="Tokens per minute.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key; it is printed this once (seed: --alias "haiku-only" --models
    '["claude-haiku-4-5"]' --budget 10)."""
    from stargate.cli.output import echo_json, say

    body: dict[str, Any] = {
        "key_alias": alias,
        "models": parse_models(models),
        "max_budget": usd(budget),
        "budget_duration": duration,
        "user_id": user,
        "team_id": team,
        "duration": expires,
        "rpm_limit": rpm,
        "tpm_limit": tpm,
    }
    with admin_client() as client:
        made = client.post("/key/generate", {k: v for k, v in body.items() if v is not None})
    if as_json:
        echo_json(made)
        return
    say("created a key; it is shown this once, keep it safe:")
    _print_key(made, secret=made.get("key"))


@app.command("list")
@handled
def list_keys(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's keys.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's keys.")] = None,
    alias: Annotated[
        str | None, typer.Option("--alias", help="Only the key with this alias.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every key (all pages): hint, alias, owner, models, budget."""
    from stargate.cli.output import budget, echo_json, models_of, print_table

    with admin_client() as client:
        keys = client.all_pages(
            "/key/list", "keys",
            {"return_full_object": True, "user_id": user, "team_id": team, "key_alias": alias},
        )  # fmt: skip
    if as_json:
        echo_json(keys)
        return
    print_table(
        f"{len(keys)} keys",
        ["key", "alias", "user", "team", "models", "budget", "rpm", "blocked", "expires"],
        [
            [
                k.get("key_name"),
                k.get("key_alias"),
                k.get("user_id"),
                k.get("team_id"),
                models_of(k),
                budget(k),
                k.get("rpm_limit"),
                k.get("blocked"),
                k.get("expires"),
            ]
            for k in keys
        ],
        empty="no keys",
    )


@app.command("show")
@handled
def show(key: KeyArg, as_json: JsonOpt = False) -> None:
    """A key's settings and spend."""
    from stargate.cli.output import echo_json

    with admin_client() as client:
        info = client.get("/key/info", {"key": resolve_key(client, key)})
    if as_json:
        echo_json(info)
        return
    _print_key(info.get("info", {}))


def _block(key: str, blocked: bool, as_json: bool) -> None:
    from stargate.cli.output import echo_json, say

    with admin_client() as client:
        answer = client.post(
            "/key/block" if blocked else "/key/unblock", {"key": resolve_key(client, key)}
        )
    if as_json:
        echo_json(answer)
        return
    name = answer.get("key_alias") or answer.get("key_name")
    say(f"key {name} is {'blocked' if answer.get('blocked') else 'unblocked'}")


@app.command("block")
@handled
def block(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Refuse every request made with the key (until unblocked)."""
    _block(key, True, as_json)


@app.command("unblock")
@handled
def unblock(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Accept the key's requests again."""
    _block(key, False, as_json)


@app.command("regenerate")
@handled
def regenerate(key: KeyArg, as_json: JsonOpt = False) -> None:
    """A new secret for the key (settings kept); the old one stops working at once."""
    from stargate.cli.output import echo_json, say

    with admin_client() as client:
        made = client.post("/key/regenerate", {"key": resolve_key(client, key)})
    if as_json:
        echo_json(made)
        return
    say("regenerated; the new key is shown this once, keep it safe:")
    _print_key(made, secret=made.get("key"))


@app.command("delete")
@handled
def delete(
    keys: Annotated[list[str], typer.Argument(help="Keys (sk-...), hashes or aliases.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete keys (all or none)."""
    from stargate.cli.output import say

    with admin_client() as client:
        resolved = [resolve_key(client, key) for key in keys]
        confirm(f"Delete {len(resolved)} key(s)?", yes)
        answer = client.post("/key/delete", {"keys": resolved})
    say(f"deleted {len(answer.get('deleted_keys', []))} key(s)")


def _print_key(key: dict[str, Any], secret: str | None = None) -> None:
    from stargate.cli.output import budget, models_of, print_record

    fields: list[tuple[str, object]] = [("key", secret)] if secret else []
    fields += [
        ("hint", key.get("key_name")),
        ("alias", key.get("key_alias")),
        ("hash", key.get("token")),
        ("user", key.get("user_id")),
        ("team", key.get("team_id")),
        ("models", models_of(key)),
        ("budget", budget(key)),
        ("rpm / tpm", f"{key.get('rpm_limit') or '-'} / {key.get('tpm_limit') or '-'}"),
        ("blocked", key.get("blocked")),
        ("expires", key.get("expires")),
    ]
    print_record(f"key {key.get('key_alias') or key.get('key_name') or ''}".strip(), fields)
