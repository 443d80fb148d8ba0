"""What every admin command shares: the client from the resolved connection, turning failures
into one ``error:`` line and an exit code, and the option types the seeds' flags need."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from stargate.cli import connection
from stargate.cli.errors import CliError, InputError

if TYPE_CHECKING:
    from stargate.cli.client import AdminClient

__all__ = [
    "BudgetOpt",
    "DurationOpt",
    "JsonOpt",
    "ModelsOpt",
    "admin_client",
    "confirm",
    "handled",
    "parse_models",
    "usd",
]

P = ParamSpec("P")
R = TypeVar("R")

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")
]
BudgetOpt = Annotated[
    str | None, typer.Option("--budget", "--max-budget", help="Budget in USD, e.g. 50 or 0.5.")
]
DurationOpt = Annotated[
    str | None,
    typer.Option(
        "--duration", "--budget-duration",
        help="Budget window: daily, weekly, monthly, or 1d, 7d, 1mo, 12h ...",
    ),
]  # fmt: skip
ModelsOpt = Annotated[
    str | None,
    typer.Option(
        "--models",
        help="Allowed models: a JSON list ('[\"claude-haiku-4-5\"]') or names separated by commas.",
    ),
]


def admin_client() -> AdminClient:
    from stargate.cli.client import AdminClient

    opts = connection.options
    return AdminClient(connection.resolve(opts.url, opts.master_key, os.environ, Path.cwd()))


def handled(function: Callable[P, R]) -> Callable[P, R]:
    """Run a command; a :class:`CliError` is printed as ``error: ...`` and exits with its code."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except CliError as exc:
            from stargate.cli.output import err

            err().print(f"error: {exc.message}", style="red", markup=False, highlight=False)
            raise typer.Exit(int(exc.code)) from None

    return wrapper


def parse_models(value: str | None, option: str = "--models") -> list[str] | None:
    """``'["a", "b"]'`` (the seeds' form) or ``a,b``; ``None`` when not given."""
    if value is None:
        return None
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except ValueError as exc:
            raise InputError(f"{option}: not a JSON list of model names: {exc}") from exc
        if not isinstance(parsed, list) or not all(isinstance(m, str) for m in parsed):
            raise InputError(f"{option}: expected a JSON list of model names")
        names = [m.strip() for m in parsed]
    else:
        names = [m.strip() for m in stripped.split(",")]
    names = [m for m in names if m]
    return list(dict.fromkeys(names))


def usd(value: str | None, option: str = "--budget") -> float | None:
    """A USD amount given on the command line, checked, as the JSON number the API takes."""
    if value is None:
        return None
    cleaned = value.strip().removeprefix("$")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise InputError(f"{option}: {value!r} is not an amount in USD") from None
    if not amount.is_finite() or amount < 0:
        raise InputError(f"{option}: {value!r} must be a non-negative amount in USD")
    return float(amount)


def confirm(question: str, yes: bool) -> None:
    """Ask before a destructive change, unless ``--yes``; a script without ``--yes`` is told."""
    if yes:
        return
    import sys

    if not sys.stdin.isatty():
        raise InputError(f"{question} Refusing without --yes (not an interactive terminal).")
    if not typer.confirm(question, default=False):
        raise typer.Exit(1)
