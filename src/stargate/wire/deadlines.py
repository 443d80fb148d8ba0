"""Many deadlines on one event-loop timer (:class:`Deadlines`).

A timer per call (``asyncio.timeout``, ``loop.call_later``) costs ~4 us of CPU on uvloop, which
makes, starts, stops and closes a libuv timer handle for each; a call that answers in a fraction
of a millisecond pays that on every round trip. Here a deadline is an object in a set.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

__all__ = ["Deadline", "Deadlines"]


class Deadline:
    __slots__ = ("arg", "fire", "fired", "when")

    def __init__(self, when: float, fire: Callable[[Any], None], arg: Any) -> None:
        self.when = when
        self.fire = fire
        self.arg = arg
        self.fired = False


class Deadlines:
    """Deadlines on one loop timer: the timer is set again only for a deadline earlier than the
    one it waits for (calls of one kind have their deadlines in the order they start, so that is
    rare). When it goes off, every deadline due is fired and the timer set for the earliest left.
    A deadline is fired when the loop's clock reaches it (to the millisecond), as the loop fires
    its own timers. One per event loop: every method runs on it."""

    __slots__ = ("_armed", "_handle", "_live", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._live: dict[Deadline, None] = {}  # in the order they were added
        self._handle: asyncio.TimerHandle | None = None
        self._armed = math.inf  # when the timer goes off

    def add(self, delay: float, fire: Callable[[Any], None], arg: Any) -> Deadline:
        """``fire(arg)`` in ``delay`` seconds unless :meth:`discard` comes first."""
        deadline = Deadline(self.loop.time() + delay, fire, arg)
        self._live[deadline] = None
        if deadline.when < self._armed:
            self._arm(deadline.when)
        return deadline

    def discard(self, deadline: Deadline) -> None:
        self._live.pop(deadline, None)  # the timer may go off for nothing, and is set again

    def end(self, deadline: Deadline, task: asyncio.Task[Any], cancelling: int) -> bool:
        """:meth:`discard` for a deadline that cancels ``task``; whether it did, and that
        cancellation is the only one asked for since (``asyncio.timeout``'s rule)."""
        self._live.pop(deadline, None)
        return deadline.fired and task.uncancel() <= cancelling

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed = math.inf

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed = when
        self._handle = self.loop.call_at(when, self._expire)

    def _expire(self) -> None:
        self._handle = None
        self._armed = math.inf
        live = self._live
        if not live:
            return
        # uvloop counts its timers in whole milliseconds, and goes off up to half of one before
        # the time asked for (by its own clock): what falls due within the millisecond is due,
        # as it would be for a timer of its own.
        now = self.loop.time() + 0.001
        due = sorted([deadline for deadline in live if deadline.when <= now], key=_when)
        for deadline in due:  # by time, then in the order they were added
            if deadline not in live:  # discarded by one fired before it
                continue
            del live[deadline]
            deadline.fired = True
            deadline.fire(deadline.arg)
        if live:
            self._arm(min(deadline.when for deadline in live))


def _when(deadline: Deadline) -> float:
    return deadline.when
