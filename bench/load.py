"""A bounded async load generator (loopback only): N requests at concurrency C, with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
import yarl

__all__ = ["LoadResult", "Target", "run_load"]


@dataclass(frozen=True)
class Target:
    """One request, replayed: the URL, headers and body never change between requests."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    stream: bool = False


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str | None = None

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _assert_loopback(url: str) -> None:
    host = yarl.URL(url).host or ""
    if not (host == "localhost" or host.startswith("127.") or host == "::1"):
        raise ValueError(f"the load generator only targets loopback addresses, not {host}")


async def run_load(
    target: Target, *, requests: int, concurrency: int, deadline_s: float = 120.0
) -> LoadResult:
    _assert_loopback(target.url)
    result = LoadResult()
    remaining = requests
    url = yarl.URL(target.url, encoded=True)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    stop_at = time.perf_counter() + deadline_s

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0 and time.perf_counter() < stop_at:
                remaining -= 1
                started = time.perf_counter()
                try:
                    async with session.post(url, data=target.body, headers=target.headers) as resp:
                        if target.stream:
                            async for _ in resp.content.iter_any():
                                pass
                        else:
                            await resp.read()
                        ok = resp.status == 200
                        if not ok and result.first_error is None:
                            result.first_error = f"HTTP {resp.status}"
                except aiohttp.ClientError as exc:
                    ok = False
                    result.first_error = result.first_error or repr(exc)
                result.latencies.append(time.perf_counter() - started)
                result.requests += 1
                if not ok:
                    result.errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - began
    return result
