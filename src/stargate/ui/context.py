"""What every page handler shares: the admin service, the ledger, the guard, and the few
gateway functions the admin app hands in (``stargate.ui`` sits below ``stargate.api`` and
cannot import it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from stargate.admin.service import AdminService
from stargate.admin.spend_service import SpendAdmin
from stargate.store.database import Database
from stargate.ui.auth import Guard
from stargate.ui.csrf import csrf_for
from stargate.ui.sessions import SignedIn

__all__ = ["ModelTest", "Ui"]

# Calls one deployment of a model name with a one-token request: (answered, what happened).
ModelTest = Callable[[str], Awaitable[tuple[bool, str]]]


@dataclass(slots=True)
class Ui:
    service: AdminService
    spend: SpendAdmin
    database: Database
    guard: Guard
    test_model: ModelTest
    budget_timezone: str = "UTC"

    def base(self, session: SignedIn, **context: Any) -> dict[str, Any]:
        """The context every signed-in page gets: who is signed in and the CSRF token."""
        return {"subject": session.subject, "csrf": csrf_for(session.token), **context}
