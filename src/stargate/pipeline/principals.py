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
from typing import Literal, Protocol

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


class _Limited(Protocol):
    """What keys, users and teams store alike about their limits."""

    @property
    def models(self) -> tuple[str, ...]: ...
    @property
    def max_budget_micro(self) -> int | None: ...
    @property
    def budget_duration(self) -> str | None: ...
    @property
    def budget_limits(self) -> tuple[BudgetLimit, ...]: ...
    @property
    def rpm_limit(self) -> int | None: ...
    @property
    def tpm_limit(self) -> int | None: ...
    @property
    def max_parallel_requests(self) -> int | None: ...
    @property
    def blocked(self) -> bool: ...


def limits_of(
    record: _Limited,
    *,
    timezone: str,
    model_rpm: Mapping[str, int] | None = None,
    model_tpm: Mapping[str, int] | None = None,
    expires_at: datetime | None = None,
) -> Limits:
    """The limits a key, user or team record puts on a request."""
    return Limits(
        models=tuple(record.models),
        budgets=_budgets(
            record.max_budget_micro, record.budget_duration, record.budget_limits, timezone
        ),
        rpm=record.rpm_limit,
        tpm=record.tpm_limit,
        max_parallel=record.max_parallel_requests,
        model_rpm=dict(model_rpm or {}),
        model_tpm=dict(model_tpm or {}),
        blocked=record.blocked,
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
        key_limits = limits_of(
            key,
            timezone=tz,
            model_rpm=key.model_rpm_limit,
            model_tpm=key.model_tpm_limit,
            expires_at=key.expires_at,
        )
        # The key's scope is its key_id: stable across /key/regenerate, so spend carries over.
        scopes: list[tuple[str, Limits]] = [(f"key:{key.key_id}", key_limits)]
        user = await self._users.get(key.user_id) if key.user_id else None
        if user is not None:
            scopes.append((f"user:{user.user_id}", limits_of(user, timezone=tz)))
        team = await self._teams.get(key.team_id) if key.team_id else None
        if team is not None:
            team_limits = limits_of(
                team, timezone=tz, model_rpm=team.model_rpm_limit, model_tpm=team.model_tpm_limit
            )
            scopes.append((f"team:{team.team_id}", team_limits))
            if user is not None:
                member = await self._teams.member(team.team_id, user.user_id)
                if member is not None and member.max_budget_micro is not None:
                    budgets = _budgets(member.max_budget_micro, member.budget_duration, (), tz)
                    scopes.append(
                        (f"member:{team.team_id}:{user.user_id}", Limits(budgets=budgets))
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
