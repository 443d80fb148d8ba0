"""Registers the admin-API commands on the root ``stargate`` app: ``users``, ``keys``,
``teams``, ``models``, ``tiers``, ``onboard``, ``usage``, ``spend``, and seed 001's
``litellm-users.sh`` verbs (``create-user``, ``create-key``, ``list-users``, ``list-keys``)
as hidden aliases, so its commands work with ``stargate`` in place of the script."""

from __future__ import annotations

import typer

from stargate.cli import keys, models, teams, tiers, users
from stargate.cli.onboard import onboard
from stargate.cli.usage import spend_app, usage

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.add_typer(users.app, name="users")
    app.add_typer(keys.app, name="keys")
    app.add_typer(teams.app, name="teams")
    app.add_typer(models.app, name="models")
    app.add_typer(tiers.app, name="tiers")
    app.command("onboard")(onboard)
    app.command("usage")(usage)
    app.add_typer(spend_app, name="spend")
    for verb, command in (
        ("create-user", users.create),
        ("create-key", keys.create),
        ("list-users", users.list_users),
        ("list-keys", keys.list_keys),
    ):
        app.command(verb, hidden=True)(command)
