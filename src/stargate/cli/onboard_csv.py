"""Reading seed 003's ``users_to_onboard.csv``: ``email,tier,alias,budget,rpm``.

The header names the columns (any order, any case; ``email`` and ``tier`` are required,
``alias``, ``budget`` and ``rpm`` optional; ``user_email``, ``team``, ``name``, ``max_budget``
and ``rpm_limit`` are read as their synonyms). A bad row is reported with its line number and
field and left out; the other rows are kept. A bad header is an :class:`InputError`: nothing can
be read without it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from stargate.cli.errors import InputError

__all__ = ["COLUMNS", "Row", "RowError", "parse_csv"]

COLUMNS = ("email", "tier", "alias", "budget", "rpm")
_SYNONYMS = {
    "user_email": "email",
    "team": "tier",
    "team_alias": "tier",
    "name": "alias",
    "user_alias": "alias",
    "key_alias": "alias",
    "max_budget": "budget",
    "rpm_limit": "rpm",
}
_REQUIRED = ("email", "tier")
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+")
_MAX_ALIAS = 255
_MAX_USD = Decimal(2**53 // 1_000_000)


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    email: str
    tier: str
    alias: str | None = None
    budget: Decimal | None = None
    rpm: int | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str | None  # a CSV column, or None for the whole row
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message}"


def _header(fields: list[str]) -> list[str | None]:
    """Each column's name (``None`` for a column to ignore)."""
    names: list[str | None] = []
    seen: set[str] = set()
    for raw in fields:
        name = raw.strip().lower().replace(" ", "_")
        name = _SYNONYMS.get(name, name)
        if name not in COLUMNS:
            names.append(None)
            continue
        if name in seen:
            raise InputError(f"line 1: the column {name!r} appears twice in the header")
        seen.add(name)
        names.append(name)
    missing = [name for name in _REQUIRED if name not in seen]
    if missing:
        raise InputError(
            f"line 1: the header must name the columns {', '.join(COLUMNS)} "
            f"(email and tier required); missing: {', '.join(missing)} (found: {','.join(fields)})"
        )
    return names


def _budget(value: str) -> Decimal:
    try:
        amount = Decimal(value.removeprefix("$"))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount in USD") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{value!r} must be a non-negative amount in USD")
    if amount > _MAX_USD:
        raise ValueError(f"{value!r} is too large")
    return amount


def _rpm(value: str) -> int:
    if not value.isdigit():
        raise ValueError(f"{value!r} is not a whole number of requests per minute")
    return int(value)


def _row(line: int, values: dict[str, str]) -> Row:
    """One checked row; a bad field raises :class:`_Bad` naming it."""
    email = values.get("email", "")
    if not email:
        raise _Bad("email", "missing")
    if not _EMAIL.fullmatch(email):
        raise _Bad("email", f"{email!r} is not an email address")
    tier = values.get("tier", "")
    if not tier:
        raise _Bad("tier", "missing")
    alias = values.get("alias") or None
    if alias is not None and len(alias) > _MAX_ALIAS:
        raise _Bad("alias", f"longer than {_MAX_ALIAS} characters")
    budget = rpm = None
    try:
        budget = _budget(values["budget"]) if values.get("budget") else None
    except ValueError as exc:
        raise _Bad("budget", str(exc)) from None
    try:
        rpm = _rpm(values["rpm"]) if values.get("rpm") else None
    except ValueError as exc:
        raise _Bad("rpm", str(exc)) from None
    return Row(line, email, tier, alias, budget, rpm)


class _Bad(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_csv(text: str) -> tuple[list[Row], list[RowError]]:
    """The good rows and one error per bad row (line numbers count from the header, line 1).
    Blank lines and lines starting with ``#`` are skipped; an email given twice is an error on
    its second line."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), strict=True)
    header: list[str | None] | None = None
    rows: list[Row] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields) or fields[0].startswith("#"):
                continue
            if header is None:
                header = _header(fields)
                continue
            try:
                if len(fields) > len(header) and any(f.strip() for f in fields[len(header) :]):
                    raise _Bad(
                        None,
                        f"{len(fields)} fields where the header has {len(header)} "
                        "(a comma inside a value needs quotes)",
                    )
                values = {
                    name: value.strip()
                    for name, value in zip(header, fields, strict=False)
                    if name is not None
                }
                row = _row(line, values)
                earlier = first_line.get(row.email.lower())
                if earlier is not None:
                    raise _Bad("email", f"{row.email} is already on line {earlier}")
                first_line[row.email.lower()] = line
                rows.append(row)
            except _Bad as bad:
                errors.append(RowError(line, bad.field, bad.message))
    except csv.Error as exc:
        raise InputError(f"line {reader.line_num}: the CSV cannot be read: {exc}") from exc
    if header is None:
        raise InputError(f"the file is empty: expected a header line ({','.join(COLUMNS)})")
    return rows, errors
