"""``stargate onboard users.csv``: seed 003's bulk onboarding, idempotent.

For each row ``email,tier,alias,budget,rpm``:

- the user ``email`` (its id, as seed 003 makes it) exists, with ``alias`` as its alias, and is
  a member of the tier's team (the team whose alias, or id, is the tier);
- the user has one onboarding key (marked ``{"onboarded_by": "stargate"}`` in its metadata) in
  that team, aliased ``alias`` (else the email), with ``budget`` USD per ``--budget-duration``
  and ``rpm`` requests per minute when given. The team's tier limits (models, daily and monthly
  budgets) apply to it.

What already holds is left alone, what differs is updated (a changed tier moves the key to the
new team: the person keeps the key), what is missing is created. A new key is appended to
``--keys-file`` (mode 0600) at once and printed nowhere. A bad row is reported with its line and
field and the run goes on; the exit code is then 1.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from stargate.cli.common import JsonOpt, admin_client, handled
from stargate.cli.errors import ApiError, AuthError, CliError, GatewayError, InputError, Unreachable
from stargate.cli.onboard_csv import Row, RowError, parse_csv

if TYPE_CHECKING:
    from stargate.cli.client import AdminClient

__all__ = ["MARKER", "Onboarding", "onboard"]

MARKER = {"onboarded_by": "stargate"}
Outcome = Literal["created", "updated", "unchanged"]
# An API error's param → the CSV column it came from.
_COLUMN_OF = {
    "user_id": "email",
    "user_email": "email",
    "user_alias": "alias",
    "key_alias": "alias",
    "team_id": "tier",
    "teams": "tier",
    "max_budget": "budget",
    "rpm_limit": "rpm",
}


def _micro(amount: object) -> int | None:
    """USD → integer micro-USD, a fraction dropped (as the gateway stores limits)."""
    if amount is None:
        return None
    return int(Decimal(str(amount)).scaleb(6).to_integral_value(rounding="ROUND_FLOOR"))


@dataclass
class Tally:
    users: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)


class Onboarding:
    def __init__(self, client: AdminClient, keys_file: Any, *, budget_duration: str) -> None:
        self.client = client
        self.keys_file = keys_file
        self.budget_duration = budget_duration
        self.teams: dict[str, str] = {}  # tier → team id
        self.tally = Tally()

    def resolve_tiers(self, rows: list[Row]) -> list[Row]:
        """Look each tier's team up once; rows of an unknown tier become errors."""
        unknown: set[str] = set()
        for tier in dict.fromkeys(row.tier for row in rows):
            try:
                info = self.client.get("/team/info", {"team_id": tier})
            except ApiError as exc:
                if exc.status != 404:
                    raise
                unknown.add(tier)
                continue
            self.teams[tier] = str(info["team_id"])
        if unknown:
            known = self._known_tiers()
            for row in rows:
                if row.tier in unknown:
                    close = difflib.get_close_matches(row.tier, known, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else (
                        f" (known: {', '.join(sorted(known))})" if known else
                        " (no tiers yet: run `stargate tiers apply tiers.yaml`)"
                    )  # fmt: skip
                    self.tally.errors.append(
                        RowError(row.line, "tier", f"unknown tier {row.tier!r}{hint}")
                    )
        return [row for row in rows if row.tier not in unknown]

    def _known_tiers(self) -> list[str]:
        teams = self.client.get("/team/list")
        return [str(t.get("team_alias") or t["team_id"]) for t in teams]

    def row(self, row: Row) -> None:
        try:
            user_outcome, key_outcome = self._apply(row)
        except ApiError as exc:
            column = _COLUMN_OF.get(exc.param or "")
            self.tally.errors.append(RowError(row.line, column, exc.message))
            return
        except GatewayError as exc:
            self.tally.errors.append(RowError(row.line, None, exc.message))
            return
        self.tally.users[user_outcome] += 1
        self.tally.keys[key_outcome] += 1

    def _apply(self, row: Row) -> tuple[Outcome, Outcome]:
        team_id = self.teams[row.tier]
        try:
            info = self.client.get("/user/info", {"user_id": row.email})
        except ApiError as exc:
            if exc.status != 404:
                raise
            info = None
        if info is None:
            body: dict[str, Any] = {
                "user_id": row.email,
                "user_email": row.email,
                "teams": [team_id],
                "auto_create_key": False,
            }
            if row.alias:
                body["user_alias"] = row.alias
            user_id = str(self.client.post("/user/new", body)["user_id"])
            return "created", self._key(row, user_id, team_id, [], {team_id})
        user_id = str(info["user_id"])
        user = info.get("user_info") or {}
        member_of = {str(t["team_id"]) for t in info.get("teams", [])}
        user_outcome: Outcome = "unchanged"
        if row.alias and user.get("user_alias") != row.alias:
            self.client.post("/user/update", {"user_id": user_id, "user_alias": row.alias})
            user_outcome = "updated"
        if team_id not in member_of:
            self.client.post(
                "/team/member_add", {"team_id": team_id, "member": {"user_id": user_id}}
            )
            member_of.add(team_id)
            user_outcome = "updated"
        key_outcome = self._key(row, user_id, team_id, info.get("keys", []), member_of)
        return user_outcome, key_outcome

    def _key(
        self, row: Row, user_id: str, team_id: str, keys: list[dict[str, Any]], member_of: set[str]
    ) -> Outcome:
        wanted: dict[str, Any] = {"team_id": team_id, "key_alias": row.alias or row.email}
        if row.budget is not None:
            wanted["max_budget"] = float(row.budget)
            wanted["budget_duration"] = self.budget_duration
        if row.rpm is not None:
            wanted["rpm_limit"] = row.rpm
        marked = [k for k in keys if (k.get("metadata") or {}).get("onboarded_by") == "stargate"]
        mine = sorted(marked, key=lambda k: k.get("team_id") != team_id)
        if not mine:
            made = self.client.post(
                "/key/generate", {**wanted, "user_id": user_id, "metadata": MARKER}
            )
            self.keys_file.write(row.email, row.tier, made.get("key_alias"), made["key"])
            return "created"
        key = mine[0]
        changes = {k: v for k, v in wanted.items() if not _same(k, key.get(k), v)}
        if not changes:
            return "unchanged"
        self.client.post("/key/update", {"key": key["token"], **changes})
        old_team = key.get("team_id")
        if "team_id" in changes and old_team and old_team in member_of and old_team != team_id:
            try:
                self.client.post("/team/member_delete", {"team_id": old_team, "user_id": user_id})
            except ApiError as exc:
                if exc.status != 404:
                    raise
        return "updated"


def _same(name: str, have: object, want: object) -> bool:
    if name == "max_budget":
        return _micro(have) == _micro(want)
    return have == want


def _summary(tally: Tally, rows: int, keys_file: Any) -> dict[str, Any]:
    return {
        "rows": rows,
        "users": {o: tally.users[o] for o in ("created", "updated", "unchanged")},
        "keys": {o: tally.keys[o] for o in ("created", "updated", "unchanged")},
        "failed_rows": len(tally.errors),
        "errors": [
            {"line": e.line, "field": e.field, "message": e.message}
            for e in sorted(tally.errors, key=lambda e: e.line)
        ],
        "keys_file": str(keys_file.path) if keys_file.written else None,
        "keys_written": keys_file.written,
    }


def _print_summary(summary: dict[str, Any]) -> None:
    from stargate.cli.output import print_table, say

    users, keys = summary["users"], summary["keys"]
    print_table(
        f"onboarded {summary['rows']} rows",
        ["", "created", "updated", "unchanged"],
        [
            ["users", users["created"], users["updated"], users["unchanged"]],
            ["keys", keys["created"], keys["updated"], keys["unchanged"]],
        ],
    )
    _print_errors(summary)
    if summary["keys_written"]:
        say(f"{summary['keys_written']} new keys written to {summary['keys_file']} (mode 0600)")
    else:
        say("no new keys")


def _print_errors(summary: dict[str, Any]) -> None:
    from stargate.cli.output import print_table

    if summary["errors"]:
        print_table(
            f"{summary['failed_rows']} rows failed (the others were applied)",
            ["line", "field", "error"],
            [[e["line"], e["field"], e["message"]] for e in summary["errors"]],
        )


@handled
def onboard(
    csv_path: Annotated[
        Path, typer.Argument(metavar="USERS_CSV", help="email,tier,alias,budget,rpm (seed 003).")
    ],
    keys_file: Annotated[
        Path,
        typer.Option("--keys-file", "-o", help="Where new keys are appended (created mode 0600)."),
    ] = Path("onboarded-keys.csv"),
    tiers: Annotated[
        Path | None, typer.Option("--tiers", help="Apply this tiers.yaml first.")
    ] = None,
    budget_duration: Annotated[
        str, typer.Option("--budget-duration", help="The window of the budget column.")
    ] = "monthly",
    check: Annotated[
        bool, typer.Option("--check", help="Only check the file and the tiers; change nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Bulk onboarding from a CSV: users, and their keys in their tier's team.

    Safe to run again: only what differs is changed. New keys go to --keys-file (mode 0600),
    never to the terminal. Exit code 1 when some rows failed (the others are applied).
    """
    from stargate.cli.keys_file import KeysFile
    from stargate.cli.output import echo_json, progress, say
    from stargate.cli.tiers import apply_tiers

    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read {csv_path}: {getattr(exc, 'strerror', None) or exc}"
        ) from exc
    rows, errors = parse_csv(text)
    out_file = KeysFile(keys_file)
    out_file.check()
    with admin_client() as client, out_file:
        if tiers is not None and not check:
            apply_tiers(client, tiers)
        run = Onboarding(client, out_file, budget_duration=budget_duration)
        run.tally.errors += errors
        total = len(rows) + len(errors)
        rows = run.resolve_tiers(rows)
        if check:
            summary = _summary(run.tally, total, out_file)
            if as_json:
                echo_json(summary)
            else:
                say(f"{len(rows)} rows ready, {len(run.tally.errors)} with errors")
                _print_errors(summary)
            if run.tally.errors:
                raise typer.Exit(1)
            return
        aborted: CliError | None = None
        with progress("onboarding", len(rows)) as advance:
            for row in rows:
                try:
                    run.row(row)
                except (AuthError, Unreachable) as exc:
                    aborted = exc
                    break
                advance()
    summary = _summary(run.tally, total, out_file)
    if as_json:
        echo_json(summary)
    else:
        _print_summary(summary)
    if aborted is not None:
        raise aborted
    if run.tally.errors:
        raise typer.Exit(1)
