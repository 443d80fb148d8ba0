"""How the admin commands print: rich tables for people, ``--json`` for scripts (plain JSON on
stdout, nothing else there), messages and progress on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "budget",
    "echo_json",
    "err",
    "models_of",
    "money",
    "out",
    "print_record",
    "print_table",
    "say",
    "text",
    "warn",
]


@cache
def out() -> Console:
    from rich.console import Console

    console = Console(soft_wrap=False)
    if not console.is_terminal:  # piped: tables as wide as their content, not 80 columns
        console.width = 240
    return console


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def echo_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def say(message: str) -> None:
    """A message for people, on stderr (stdout stays for data)."""
    err().print(message, markup=False, highlight=False)


def warn(message: str) -> None:
    err().print(f"warning: {message}", style="yellow", markup=False, highlight=False)


def text(value: object) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def money(value: object) -> str:
    """A USD amount as the API gives it (a JSON number), without float noise."""
    if value is None:
        return "-"
    amount = Decimal(str(value))
    shown = f"{amount:.6f}".rstrip("0")
    if shown.endswith("."):
        shown += "00"
    elif len(shown.split(".")[1]) < 2:
        shown += "0"
    return f"${shown}"


def budget(record: dict[str, Any]) -> str:
    """``$1.20 / $50.00 monthly`` (+ more windows), or ``-`` without a budget."""
    windows = record.get("budget_windows")
    if windows:
        return ", ".join(
            f"{money(w.get('spend'))} / {money(w.get('max_budget'))}"
            + (f" {w['budget_duration']}" if w.get("budget_duration") else "")
            for w in windows
        )
    if record.get("max_budget") is None:
        return "-"
    shown = f"{money(record.get('spend') or 0)} / {money(record['max_budget'])}"
    if record.get("budget_duration"):
        shown += f" {record['budget_duration']}"
    return shown


def models_of(record: dict[str, Any]) -> str:
    models = record.get("models") or []
    return ", ".join(str(m) for m in models) if models else "all"


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    empty: str = "nothing to show",
) -> None:
    if not rows:
        say(empty)
        return
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(text(cell) for cell in row))
    out().print(table)


def print_record(title: str, fields: Sequence[tuple[str, object]]) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in fields:
        table.add_row(name, text(value))
    out().print(table)


@contextmanager
def progress(description: str, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr; yields ``advance()``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err(), transient=False,
    ) as bar:  # fmt: skip
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)
