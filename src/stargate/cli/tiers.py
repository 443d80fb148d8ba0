"""``stargate tiers apply tiers.yaml``: seed 003's tiers as budgets and teams, through
``POST /tier/apply`` (idempotent: applying the same file again changes nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stargate.cli.common import JsonOpt, admin_client, handled
from stargate.cli.errors import InputError

if TYPE_CHECKING:
    from stargate.cli.client import AdminClient

__all__ = ["app", "apply_tiers", "load_tiers"]

app = typer.Typer(
    help="Tiers (seed 003's tiers.yaml): one budget and one team each.", no_args_is_help=True
)


def load_tiers(path: Path) -> dict[str, Any]:
    """The ``tiers:`` mapping of a tiers file (a bare mapping of tiers is read too)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise InputError(f"{path}{where}: not valid YAML: {problem}") from exc
    tiers = data.get("tiers", data) if isinstance(data, dict) else None
    if not isinstance(tiers, dict) or not tiers:
        raise InputError(f"{path}: expected a 'tiers:' mapping of tier names to their settings")
    for name, tier in tiers.items():
        if not isinstance(tier, dict):
            raise InputError(f"{path}: tier {name!r} must be a mapping (name, budget_daily, ...)")
    return {str(name): tier for name, tier in tiers.items()}


def apply_tiers(client: AdminClient, path: Path) -> list[dict[str, Any]]:
    answer = client.post("/tier/apply", {"tiers": load_tiers(path)})
    return list(answer.get("tiers", []))


@app.command("apply")
@handled
def apply(
    path: Annotated[Path, typer.Argument(help="tiers.yaml (seed 003's format).")],
    as_json: JsonOpt = False,
) -> None:
    """Create or update one budget and one team per tier; unchanged tiers are left alone."""
    from stargate.cli.output import echo_json, print_table

    with admin_client() as client:
        results = apply_tiers(client, path)
    if as_json:
        echo_json(results)
        return
    print_table(
        f"tiers from {path}",
        ["tier", "team_id", "team", "budget"],
        [[r.get("tier"), r.get("team_id"), r.get("team"), r.get("budget")] for r in results],
    )
