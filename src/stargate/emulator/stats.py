"""Counters and recent requests, for tests to observe what the emulator saw and did.

Served without auth at ``GET /_emulator/stats`` and ``GET /_emulator/requests``, cleared by
``POST /_emulator/reset``. A stream is *completed* when it ended with its last event
(``metadata``, or ``message_stop`` on InvokeModelWithResponseStream), *faulted* when a scripted
fault cut it, and *cancelled* when the client went away first. (The prompt cache keeps its own
counters: :meth:`stargate.emulator.prompt_cache.PromptCache.snapshot`.)
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import orjson

__all__ = ["RECENT_REQUESTS_LIMIT", "RECORDED_BODY_LIMIT", "Stats", "StreamOutcome", "redact"]

RECENT_REQUESTS_LIMIT = 100
"""How many recent requests are kept."""

RECORDED_BODY_LIMIT = 256 * 1024
"""Bodies larger than this are recorded by size only."""

StreamOutcome = Literal["completed", "faulted", "cancelled"]

_SECRET_HEADERS = frozenset({"authorization", "x-amz-security-token"})


def redact(name: str, value: str) -> str:
    """A header value safe to show: credentials keep only their scheme."""
    if name.lower() not in _SECRET_HEADERS:
        return value
    scheme, sep, _ = value.partition(" ")
    return f"{scheme} <redacted>" if sep else "<redacted>"


def _recorded_body(body: bytes) -> object:
    if len(body) > RECORDED_BODY_LIMIT:
        return {"omitted_bytes": len(body)}
    try:
        parsed: object = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", errors="replace")
    return parsed


@dataclass(slots=True)
class Stats:
    """What one emulator has counted since it started or was last reset."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    streams_started: int = 0
    stream_outcomes: Counter[StreamOutcome] = field(default_factory=Counter)
    recent: deque[dict[str, object]] = field(
        default_factory=lambda: deque(maxlen=RECENT_REQUESTS_LIMIT)
    )

    def record_request(
        self,
        *,
        request_id: str,
        operation: str,
        method: str,
        path: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> None:
        """Keep one request (credentials redacted) among the recent ones."""
        self.recent.append(
            {
                "request_id": request_id,
                "received_at": datetime.now(UTC).isoformat(),
                "operation": operation,
                "method": method,
                "path": path,
                "headers": {str(name): redact(name, value) for name, value in headers},
                "body": _recorded_body(body),
            }
        )

    def reset(self) -> None:
        self.requests.clear()
        self.errors.clear()
        self.streams_started = 0
        self.stream_outcomes.clear()
        self.recent.clear()

    def snapshot(self) -> dict[str, object]:
        """The counters as JSON-ready data."""
        return {
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "errors": dict(self.errors),
            "streams": {
                "started": self.streams_started,
                "completed": self.stream_outcomes["completed"],
                "faulted": self.stream_outcomes["faulted"],
                "cancelled": self.stream_outcomes["cancelled"],
                "in_progress": self.streams_started - sum(self.stream_outcomes.values()),
            },
        }

    def recent_requests(self) -> list[dict[str, object]]:
        """The recent requests, oldest first."""
        return list(self.recent)
