"""Work a request leaves for after its response is sent (:class:`AfterResponse`).

The API layer owns one per request (``stargate.api.endpoint``) and runs it once the response is
out; the pipeline queues on it what changes nothing the caller receives, such as settling the
request's reservation. Once run, it is closed: a job queued later (a stream finalised late) is
refused, and its caller does the work itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

__all__ = ["AfterResponse", "Job"]

log = logging.getLogger("stargate")

Job = Callable[[], Awaitable[None]]


class AfterResponse:
    __slots__ = ("_jobs", "closed")

    def __init__(self) -> None:
        self._jobs: list[Job] = []
        self.closed = False

    def add(self, job: Job) -> bool:
        """Queue ``job`` (it must never raise); ``False`` once closed: run it yourself."""
        if self.closed:
            return False
        self._jobs.append(job)
        return True

    async def run(self) -> None:
        """Close, then run every job in order, even when one fails or the task is cancelled
        meanwhile (the cancellation is raised again once all have run)."""
        self.closed = True
        cancelled: BaseException | None = None
        for job in self._jobs:
            try:
                await job()
            except Exception:  # a job never raises; if one does, the others still run
                log.exception("after-response work failed")
            except BaseException as exc:  # cancelled: finish the bookkeeping, then obey
                cancelled = cancelled or exc
        self._jobs.clear()
        if cancelled is not None:
            raise cancelled
