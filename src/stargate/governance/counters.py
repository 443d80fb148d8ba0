"""The counter store: where admissions are checked and reserved, and settled afterwards.

Two backends implement :class:`CounterStore`: ``stargate.store.counters_memory.MemoryCounters``
(one process, the embedded default) and ``stargate.store.counters_redis.RedisCounters`` (shared
by every replica). Both keep the same promise: one admission is one atomic step over every scope
it names, so concurrent requests, across replicas, never together reserve more than a budget.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from stargate.core.money import MicroUSD
from stargate.governance.admission import Admission, AdmissionRequest

__all__ = [
    "RECORD_GRACE_SECONDS",
    "WINDOW_GRACE_SECONDS",
    "AdmitsInPlace",
    "CounterStore",
    "FailurePolicy",
    "SettlesHere",
    "SettlesInPlace",
]

FailurePolicy = Literal["closed", "open"]

# A budget window's counter outlives its reset by this much, so late settlements still land.
WINDOW_GRACE_SECONDS = 2 * 86_400
# A settled (or lease-expired) request is remembered this long, for idempotent settlement.
RECORD_GRACE_SECONDS = 900


class CounterStore(Protocol):
    async def admit(self, request: AdmissionRequest) -> Admission:
        """Atomically, for every check: sliding-minute RPM and TPM, parallel requests, and
        ``spent + reserved + reserve_micro <= limit`` for each budget. If all fit, reserve
        under ``request.request_id`` with a lease and return :class:`Admitted`; otherwise
        reserve nothing anywhere and return :class:`Refused`. Admitting an id that is already
        reserved returns the current state and reserves nothing more; an id that was already
        settled raises ``ValueError``."""
        ...

    async def settle(self, request_id: str, actual_micro: MicroUSD, actual_tokens: int) -> bool:
        """Replace the reservation by the real cost in every window it reserved, free the
        parallel slot, and correct the TPM log to ``actual_tokens``. Idempotent: only the first
        call per request id counts (returns ``True``); later ones, and unknown ids, do
        nothing (``False``). A request whose lease had already expired still adds its cost."""
        ...

    async def release(self, request_id: str) -> bool:
        """Settle with zero cost: the request failed before the upstream spent anything."""
        ...

    async def spent(self, scope: str, window_key: str) -> MicroUSD:
        """Settled spend of ``scope`` in the window instance ``window_key`` (reservations not
        included)."""
        ...

    async def rebuild(
        self,
        scope: str,
        window_key: str,
        spent_micro: MicroUSD,
        *,
        reset_at: datetime | None = None,
    ) -> None:
        """Set the settled spend of a window instance (from the ledger), keeping its
        reservations. ``reset_at`` lets a backend expire a counter it creates here."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class SettlesInPlace(Protocol):
    """A counter store in this process may also settle as one synchronous step: nothing is
    awaited, so a cancelled request cannot interrupt it (and nothing needs shielding)."""

    def settle_in_place(self, request_id: str, actual_micro: MicroUSD, actual_tokens: int) -> bool:
        """:meth:`CounterStore.settle`, without awaiting."""
        ...


@runtime_checkable
class SettlesHere(Protocol):
    """A shared counter store that admitted some requests in this process (from an allotment)
    may settle those as one synchronous step; the others go through :meth:`CounterStore.settle`."""

    def settle_here(
        self, request_id: str, actual_micro: MicroUSD, actual_tokens: int
    ) -> bool | None:
        """:meth:`CounterStore.settle` for a request this process holds; ``None`` for any other
        (nothing done)."""
        ...


@runtime_checkable
class AdmitsInPlace(Protocol):
    """A counter store in this process may also admit as one synchronous step (its admission
    never waits for anything): the caller need not make a coroutine for it."""

    def admit_in_place(self, request: AdmissionRequest) -> Admission:
        """:meth:`CounterStore.admit`, without awaiting."""
        ...
