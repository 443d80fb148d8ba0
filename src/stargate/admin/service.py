"""The admin service: every administrative operation, independent of HTTP.

The admin API routes, the CLI and the UI all call this. Operations take validated request
models (:mod:`stargate.admin.requests`; :func:`stargate.admin.fields.parse_body` turns a JSON
body into one, or a 400 naming the field) and return LiteLLM-shaped dicts. Errors are
:class:`~stargate.errors.StargateError` (404 for an unknown key, user, team, budget or model;
400 for a bad field, ``code="duplicate"`` for a taken id, alias or email).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from stargate.admin.budgets import BudgetAdmin
from stargate.admin.context import AdminContext, utc_now
from stargate.admin.keys import KeyAdmin
from stargate.admin.models import ModelAdmin
from stargate.admin.spend import SpendReader
from stargate.admin.teams import TeamAdmin
from stargate.admin.tiers import TierAdmin
from stargate.admin.users import UserAdmin
from stargate.config import Deployment
from stargate.store.database import Database
from stargate.store.versions import ConfigVersions

__all__ = ["AdminService"]


@dataclass(slots=True)
class AdminService:
    """One per process, built at start-up around the open database."""

    context: AdminContext
    keys: KeyAdmin
    users: UserAdmin
    teams: TeamAdmin
    budgets: BudgetAdmin
    tiers: TierAdmin
    models: ModelAdmin
    versions: ConfigVersions

    @classmethod
    def create(
        cls,
        database: Database,
        *,
        config_deployments: Sequence[Deployment] = (),
        env: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utc_now,
        spend: SpendReader | None = None,
    ) -> AdminService:
        """``config_deployments`` are the config file's models (listed by ``/model/info``,
        refused by ``/model/delete``); ``env`` resolves ``os.environ/`` references of runtime
        models (pass ``os.environ``); ``spend`` adds spend to info answers once the counters
        are wired (without it spend fields are left out)."""
        context = AdminContext(database, clock=clock, spend=spend)
        keys = KeyAdmin(context)
        budgets = BudgetAdmin(context)
        return cls(
            context=context,
            keys=keys,
            users=UserAdmin(context, keys),
            teams=TeamAdmin(context, keys),
            budgets=budgets,
            tiers=TierAdmin(context, budgets),
            models=ModelAdmin(context, config_deployments, dict(env or {})),
            versions=ConfigVersions(database),
        )
