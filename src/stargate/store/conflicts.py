"""A unique constraint refused a write: say which field, as a 400 with ``code="duplicate"``.

SQLite names the column (``UNIQUE constraint failed: users.user_email``), PostgreSQL the
constraint (``unique constraint "ix_users_user_email"``, ``"pk_users"`` for a primary key), so a
candidate is a column or a constraint name. The first candidate mentioned wins; an error that
names none (a foreign key, say) is re-raised as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from sqlalchemy.exc import IntegrityError

from stargate.errors import InvalidRequest

__all__ = ["duplicate", "raise_conflict"]


def duplicate(field: str, what: str) -> InvalidRequest:
    return InvalidRequest(f"{what} already exists", param=field, code="duplicate")


def raise_conflict(
    exc: IntegrityError, candidates: Mapping[str, str], params: Mapping[str, str] | None = None
) -> NoReturn:
    """``candidates`` maps a column or constraint name to the message for a duplicate there;
    ``params`` renames a candidate for the error's ``param`` (the request field)."""
    text = str(exc.orig if exc.orig is not None else exc)
    for name, what in candidates.items():
        if any(form in text for form in (f".{name}", f"({name})", f'_{name}"', f'"{name}"')):
            raise duplicate((params or {}).get(name, name), what) from exc
    raise exc
