"""Who is calling, and what limits every scope of theirs puts on the request.

A virtual key resolves to a :class:`Principal`: the key's own scope, and the scopes of its user,
its team and its membership in that team, each with its :class:`~stargate.governance.policy.
Limits`. Lookups are cached per key hash for a few seconds and dropped wholesale whenever the
``config_versions`` row changes (an admin wrote something, on any replica), so a blocked or
deleted key stops working within about a second everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from stargate.governance.durations import parse_window
from stargate.governance.policy import BudgetWindow, Limits
from stargate.store.database import Database
from stargate.store.keys import KeyRecord, KeyRepository
from stargate.store.limits import BudgetLimit, budget_windows
from stargate.store.teams import TeamRepository
from stargate.store.users import UserRepository
from stargate.store.versions import ConfigVersions

__all__ = ["Principal", "PrincipalDirectory", "limits_of"]

log = logging.getLogger("stargate")

Scopes = tuple[tuple[str, Limits], ...]


@dataclass(slots=True, frozen=True)
class Principal:
    """Who is calling. ``key_hash`` is the SHA-256 of the presented key, never the key."""

    kind: Literal["master", "key"]
    key_hash: str
    key_alias: str
    key_id: str | None = None  # stable across /key/regenerate (the budget scope's id)
    user_id: str | None = None
    user_email: str | None = None
    team_id: str | None = None
    team_alias: str | None = None
    scopes: Scopes = ()


def _budgets(
    max_budget_micro: int | None,
    duration: str | None,
    limits: Sequence[BudgetLimit],
    timezone: str,
) -> tuple[BudgetWindow, ...]:
    return tuple(
        BudgetWindow(b.max_budget_micro, parse_window(b.budget_duration, timezone=timezone))
        for b in budget_windows(max_budget_micro, duration, limits)
    )


def limits_of(
    *,
    models: Sequence[str] = (),
    max_budget_micro: int | None = None,
    budget_duration: str | None = None,
    budget_limits: Sequence[BudgetLimit] = (),
    rpm: int | None = None,
    tpm: int | None = None,
    max_parallel: int | None = None,
    model_rpm: Mapping[str, int] | None = None,
    model_tpm: Mapping[str, int] | None = None,
    blocked: bool = False,
    expires_at: datetime | None = None,
    timezone: str = "UTC",
) -> Limits:
    return Limits(
        models=tuple(models),
        budgets=_budgets(max_budget_micro, budget_duration, budget_limits, timezone),
        rpm=rpm,
        tpm=tpm,
        max_parallel=max_parallel,
        model_rpm=dict(model_rpm or {}),
        model_tpm=dict(model_tpm or {}),
        blocked=blocked,
        expires_at=expires_at,
    )


class PrincipalDirectory:
    """Virtual keys to principals, from the database, with a small TTL cache."""

    def __init__(
        self,
        database: Database,
        *,
        timezone: str,
        ttl_s: float = 5.0,
        capacity: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = KeyRepository(database)
        self._users = UserRepository(database)
        self._teams = TeamRepository(database)
        self._versions = ConfigVersions(database)
        self._timezone = timezone
        self._ttl = ttl_s
        self._capacity = capacity
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()
        self._loading: dict[str, asyncio.Future[Principal | None]] = {}
        self._seen_versions: dict[str, int] | None = None

    async def lookup(self, key_hash: str) -> Principal | None:
        now = self._clock()
        cached = self._cache.get(key_hash)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(key_hash)
            return cached[1]
        # One database lookup per key at a time: a burst of requests with a cold cache waits on
        # the first one instead of emptying the connection pool.
        loading = self._loading.get(key_hash)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[Principal | None] = asyncio.get_running_loop().create_future()
        self._loading[key_hash] = future
        try:
            principal = await self._load(key_hash)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody is warned about it
            raise
        else:
            future.set_result(principal)
        finally:
            del self._loading[key_hash]
        self._cache[key_hash] = (now + self._ttl, principal)
        self._cache.move_to_end(key_hash)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return principal

    def invalidate(self) -> None:
        self._cache.clear()

    async def watch(self, interval_s: float = 1.0) -> None:
        """Drop the cache whenever an admin change is recorded (runs until cancelled)."""
        while True:
            with contextlib.suppress(Exception):
                versions = await self._versions.all()
                if self._seen_versions is not None and versions != self._seen_versions:
                    self.invalidate()
                self._seen_versions = versions
            await asyncio.sleep(interval_s)

    async def _load(self, key_hash: str) -> Principal | None:
        key = await self._keys.get_by_hash(key_hash)
        if key is None:
            return None
        return await self._principal(key)

    async def _principal(self, key: KeyRecord) -> Principal:
        tz = self._timezone
        scopes: list[tuple[str, Limits]] = [
            (
                f"key:{key.key_id}",  # stable across /key/regenerate: spend carries over
                limits_of(
                    models=key.models,
                    max_budget_micro=key.max_budget_micro,
                    budget_duration=key.budget_duration,
                    budget_limits=key.budget_limits,
                    rpm=key.rpm_limit,
                    tpm=key.tpm_limit,
                    max_parallel=key.max_parallel_requests,
                    model_rpm=key.model_rpm_limit,
                    model_tpm=key.model_tpm_limit,
                    blocked=key.blocked,
                    expires_at=key.expires_at,
                    timezone=tz,
                ),
            )
        ]
        user = await self._users.get(key.user_id) if key.user_id else None
        if user is not None:
            scopes.append(
                (
                    f"user:{user.user_id}",
                    limits_of(
                        models=user.models,
                        max_budget_micro=user.max_budget_micro,
                        budget_duration=user.budget_duration,
                        budget_limits=user.budget_limits,
                        rpm=user.rpm_limit,
                        tpm=user.tpm_limit,
                        max_parallel=user.max_parallel_requests,
                        blocked=user.blocked,
                        timezone=tz,
                    ),
                )
            )
        team = await self._teams.get(key.team_id) if key.team_id else None
        if team is not None:
            scopes.append(
                (
                    f"team:{team.team_id}",
                    limits_of(
                        models=team.models,
                        max_budget_micro=team.max_budget_micro,
                        budget_duration=team.budget_duration,
                        budget_limits=team.budget_limits,
                        rpm=team.rpm_limit,
                        tpm=team.tpm_limit,
                        max_parallel=team.max_parallel_requests,
                        model_rpm=team.model_rpm_limit,
                        model_tpm=team.model_tpm_limit,
                        blocked=team.blocked,
                        timezone=tz,
                    ),
                )
            )
            if user is not None:
                member = await self._teams.member(team.team_id, user.user_id)
                if member is not None and member.max_budget_micro is not None:
                    scopes.append(
                        (
                            f"member:{team.team_id}:{user.user_id}",
                            limits_of(
                                max_budget_micro=member.max_budget_micro,
                                budget_duration=member.budget_duration,
                                timezone=tz,
                            ),
                        )
                    )
        return Principal(
            kind="key",
            key_hash=key.key_hash,
            key_alias=key.key_alias or key.key_prefix,
            key_id=key.key_id,
            user_id=key.user_id,
            user_email=user.user_email if user else None,
            team_id=key.team_id,
            team_alias=team.team_alias if team else None,
            scopes=tuple(scopes),
        )
