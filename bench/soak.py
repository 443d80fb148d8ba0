"""A soak: steady mixed traffic for minutes, watching that nothing grows.

    uv run python -m bench.soak [--minutes 10] [--rate 150] [--storage embedded|postgres]

Starts the emulator (fast mode) and a gateway, makes a governed virtual key (as ``bench.run``),
then sends requests at a fixed rate (open loop: a request starts every 1/rate seconds whatever
the others do, at most 256 in flight): 70% non-streaming and 30% streaming, alternating between
the OpenAI and Anthropic dialects. Every 10 seconds it samples the gateway process: resident
memory, open file descriptors, sockets among them, threads, and asyncio tasks (the gateway's
``stargate_event_loop_tasks`` gauge, set when ``/metrics`` is scraped), plus the latencies of the
requests that finished in those 10 seconds. It prints one line per minute and a verdict: the
last minute against the second (the first warms caches and pools).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yarl

from bench.load import Target
from bench.procs import cpu_seconds, emulator, free_port, gateway, rss_mb
from bench.run import gateway_target, governed_key, storage_database

SAMPLE_S = 10.0
MAX_IN_FLIGHT = 256


@dataclass
class Window:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


@dataclass
class Sample:
    at_s: float
    rss_mb: float
    fds: int
    sockets: int
    inbound: int
    upstream: int
    threads: int
    tasks: int
    requests: int
    cpu_s: float  # the gateway's CPU time in this window
    errors: int
    p50_ms: float
    p99_ms: float


def _fds(pid: int) -> tuple[int, int]:
    fds = sockets = 0
    for name in os.listdir(f"/proc/{pid}/fd"):
        fds += 1
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                sockets += 1
        except OSError:  # closed while we looked
            pass
    return fds, sockets


def _connections(port: int, side: str) -> int:
    """Established TCP connections with ``side`` (``sport``: ours; ``dport``: the peer's) port."""
    done = subprocess.run(["ss", "-Htn", "state", "established", f"( {side} = :{port} )"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return len(done.stdout.splitlines())


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


async def _tasks(session: aiohttp.ClientSession, port: int) -> int:
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("stargate_event_loop_tasks "):
                return int(float(line.split()[1]))
    return -1


async def soak(minutes: float, rate: float, storage: str) -> list[Sample]:
    emu_port, gw_port, admin_port = free_port(), free_port(), free_port()
    samples: list[Sample] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        storage_database(storage, Path(tmp)) as env,
        emulator(emu_port),
        gateway(gw_port, emu_port, Path(tmp), env, admin_port) as (gw, _),
    ):
        key = governed_key(admin_port)
        targets = [
            gateway_target(gw_port, dialect, key, stream=stream)
            for stream in (False, False, False, False, False, False, False, True, True, True)
            for dialect in ("openai", "anthropic")
        ]
        window = Window()
        in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def one(target: Target) -> None:
                started = time.perf_counter()
                ok = False
                try:
                    url = yarl.URL(target.url, encoded=True)
                    async with session.post(url, data=target.body, headers=target.headers) as resp:
                        async for _ in resp.content.iter_any():
                            pass
                        ok = resp.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                finally:
                    in_flight.release()
                window.latencies.append(time.perf_counter() - started)
                window.errors += not ok

            began = time.perf_counter()
            end = began + minutes * 60
            next_sample = began + SAMPLE_S
            cpu_before = cpu_seconds(gw.pid)
            pending: set[asyncio.Task[None]] = set()
            n = 0
            while (now := time.perf_counter()) < end:
                if now >= next_sample:
                    done, window = window, Window()
                    cpu_now = cpu_seconds(gw.pid)
                    cpu_used, cpu_before = cpu_now - cpu_before, cpu_now
                    fds, sockets = _fds(gw.pid)
                    ordered = sorted(done.latencies) or [float("nan")]
                    samples.append(Sample(
                        at_s=round(now - began), rss_mb=round(rss_mb(gw.pid), 1), fds=fds,
                        sockets=sockets, inbound=_connections(gw_port, "sport"),
                        upstream=_connections(emu_port, "dport"), threads=_threads(gw.pid),
                        tasks=await _tasks(session, gw_port), requests=len(done.latencies),
                        cpu_s=cpu_used,
                        errors=done.errors,
                        p50_ms=round(statistics.median(ordered) * 1000, 2),
                        p99_ms=round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 2),
                    ))  # fmt: skip
                    next_sample += SAMPLE_S
                await in_flight.acquire()
                task = asyncio.create_task(one(targets[n % len(targets)]))
                pending.add(task)
                task.add_done_callback(pending.discard)
                n += 1
                await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
            await asyncio.gather(*pending)
    return samples


def report(samples: list[Sample]) -> str:
    lines = ["| minute | RSS MB | fds | sockets (in / to upstream) | threads | tasks | req/s "
             "| CPU ms/req | errors | p50 ms | p99 ms |", "|" + "---|" * 11]  # fmt: skip
    per_minute = [samples[i : i + 6] for i in range(0, len(samples), 6)]
    for minute, group in enumerate(per_minute, start=1):
        last = group[-1]
        requests = sum(s.requests for s in group)
        lines.append(
            f"| {minute} | {last.rss_mb} | {last.fds} "
            f"| {last.sockets} ({last.inbound} / {last.upstream}) | {last.threads} "
            f"| {last.tasks} | {requests / (len(group) * SAMPLE_S):.0f} "
            f"| {1000 * sum(s.cpu_s for s in group) / max(1, requests):.2f} "
            f"| {sum(s.errors for s in group)} "
            f"| {statistics.median(s.p50_ms for s in group):.2f} | {max(s.p99_ms for s in group)} |"
        )
    if len(per_minute) >= 3:
        second, final = per_minute[1][-1], per_minute[-1][-1]
        lines.append("")
        lines.append(
            f"- from the end of minute 2 to the end: RSS {second.rss_mb} → {final.rss_mb} MB "
            f"({final.rss_mb - second.rss_mb:+.1f}), fds {second.fds} → {final.fds}, sockets "
            f"{second.sockets} → {final.sockets}, threads {second.threads} → {final.threads}, "
            f"tasks {second.tasks} → {final.tasks}"
        )
        p99_2 = max(s.p99_ms for s in per_minute[1])
        p99_n = max(s.p99_ms for s in per_minute[-1])
        lines.append(f"- p99 in minute 2: {p99_2} ms; in the last minute: {p99_n} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--storage", choices=["embedded", "postgres"], default="embedded")
    args = parser.parse_args()
    samples = asyncio.run(soak(args.minutes, args.rate, args.storage))
    print(report(samples))


if __name__ == "__main__":
    main()
