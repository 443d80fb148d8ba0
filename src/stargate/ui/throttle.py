"""Brute-force throttling of the sign-in form.

Failures are counted per account name (``limit``) and per client address (``address_limit``,
higher, as several admins may share one address) over a sliding window; once either reaches its
limit, further attempts are refused (without checking the password) until
the oldest failure leaves the window. A success clears the account's failures. The counts live
in this process: each replica throttles on its own, which bounds a guesser at ``limit`` tries per
window per replica.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LoginThrottle"]


@dataclass(slots=True)
class LoginThrottle:
    limit: int = 5
    address_limit: int = 20
    window_seconds: float = 15 * 60
    clock: Callable[[], float] = time.monotonic
    max_tracked: int = 10_000  # memory bound: the oldest entries are forgotten first
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, name: str) -> deque[float]:
        now = self.clock()
        found = self._failures.get(name)
        if found is None:
            return deque()
        while found and found[0] <= now - self.window_seconds:
            found.popleft()
        if not found:
            del self._failures[name]
        return found

    def retry_after(self, *names: str) -> float:
        """Seconds until another attempt is allowed for all of ``names`` (0: allowed now)."""
        wait = 0.0
        for name in names:
            recent = self._recent(name)
            limit = self.address_limit if name.startswith("ip:") else self.limit
            if len(recent) >= limit:
                wait = max(wait, recent[-limit] + self.window_seconds - self.clock())
        return max(wait, 0.0)

    def failed(self, *names: str) -> None:
        now = self.clock()
        for name in names:
            self._failures.setdefault(name, deque()).append(now)
        while len(self._failures) > self.max_tracked:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, name: str) -> None:
        self._failures.pop(name, None)
