"""Run the benchmark matrix and print a table: the upstream called directly beside the gateway.

    uv run python -m bench.run [--requests 3000] [--storage embedded,postgres]
                               [--dialect openai,anthropic] [--governance on|off] [--workers N]
                               [--upstream fake|emulator] [--json out.json]

For each storage configuration (``embedded``: SQLite and in-process counters, the default;
``postgres``: PostgreSQL 127.0.0.1:5432/test in a schema of its own, and Redis 127.0.0.1:6379)
the gateway is started twice on a fresh database: the first start migrates it, the second (the
one measured under load) finds it at head, as a restart does. With ``--governance on`` (the
default) every request carries a virtual key of a user in a team, each with a budget, and the
key with RPM and TPM limits: authentication by hash, admission (one reserve), settlement, the
ledger row and every metric are on the path. ``off`` uses the master key.

Each scenario runs twice with the same load generator (:mod:`bench.load`): against the upstream
directly (a SigV4-signed request, signed once and replayed: Converse for the OpenAI dialect,
InvokeModel for Anthropic Messages, which the gateway relays natively to Claude) and through the
gateway. The upstream (``--upstream``) is by default :mod:`bench.fake_bedrock`, the emulator's
own answers to these requests recorded once and replayed at the cost of the HTTP server alone,
as LiteLLM's is measured against :mod:`bench.fake_openai`; ``emulator`` is ``stargate emulator
--fast`` itself (parsing, SigV4 verification, token counting: on a 2-core machine its CPU comes
out of the gateway's share). Loopback only; every phase is bounded in count and time. CPU
per request is the gateway's CPU time (user + system, from /proc, summed over its process tree:
with ``--workers N`` on postgres, the supervisor and every worker) over the requests it served.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench import fake_bedrock
from bench.load import LoadResult, Target, run_load
from bench.procs import (
    ACCESS_KEY_ID,
    MASTER_KEY,
    SECRET_ACCESS_KEY,
    emulator,
    fake_bedrock_process,
    free_port,
    gateway,
    rss_mb,
    tree_cpu_seconds,
    tree_memory_mb,
)

PROMPT = "Summarise the benefits of an LLM gateway in one paragraph."
MODEL = "claude-haiku-4-5"
UPSTREAM_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1%3A0"
POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


# --- targets -------------------------------------------------------------------------------


def _signed(url: str, body: bytes) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/json"})  # fmt: skip
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "bedrock", "us-east-1").add_auth(
        request
    )
    return dict(request.headers.items())


def direct_target(emulator_port: int, dialect: str, *, stream: bool) -> Target:
    """What the gateway sends upstream for one request of ``dialect``, signed once (valid for
    15 minutes) and replayed: Converse for OpenAI, InvokeModel for Anthropic Messages."""
    base = f"http://127.0.0.1:{emulator_port}/model/{UPSTREAM_MODEL}"
    if dialect == "openai":
        url = f"{base}/{'converse-stream' if stream else 'converse'}"
        body = orjson.dumps({"messages": [{"role": "user", "content": [{"text": PROMPT}]}],
                             "inferenceConfig": {"maxTokens": 256}})  # fmt: skip
    else:
        url = f"{base}/{'invoke-with-response-stream' if stream else 'invoke'}"
        body = orjson.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256,
                             "messages": [{"role": "user", "content": PROMPT}]})  # fmt: skip
    return Target(url, _signed(url, body), body, stream=stream)


def gateway_target(port: int, dialect: str, key: str, *, stream: bool) -> Target:
    if dialect == "openai":
        body = orjson.dumps({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}],
                             "max_tokens": 256, "stream": stream})  # fmt: skip
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        return Target(f"http://127.0.0.1:{port}/v1/chat/completions", headers, body, stream=stream)
    body = orjson.dumps({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}],
                         "max_tokens": 256, "stream": stream})  # fmt: skip
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01",
               "Content-Type": "application/json"}  # fmt: skip
    return Target(f"http://127.0.0.1:{port}/v1/messages", headers, body, stream=stream)


# --- storage and governance ------------------------------------------------------------------


def _admin(admin_port: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{admin_port}{path}", data=orjson.dumps(body), method="POST",
        headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        data: dict[str, Any] = orjson.loads(response.read())
        return data


def governed_key(admin_port: int) -> str:
    """A key of a user in a team, every one with a daily or monthly budget far above what the
    bench spends, and RPM/TPM limits far above its rate: every request is admitted, after the
    full check."""
    suffix = uuid.uuid4().hex[:6]
    team = _admin(admin_port, "/team/new", {"team_alias": f"bench-{suffix}", "max_budget": 10_000,
                                            "budget_duration": "1mo"})  # fmt: skip
    user = f"bench-{suffix}@example.com"
    _admin(admin_port, "/user/new", {"user_id": user, "max_budget": 10_000,
                                     "budget_duration": "1mo"})  # fmt: skip
    made = _admin(admin_port, "/key/generate", {
        "user_id": user, "team_id": team["team_id"], "key_alias": f"bench-{suffix}",
        "models": [MODEL], "max_budget": 5_000, "budget_duration": "1d",
        "rpm_limit": 10_000_000, "tpm_limit": 10_000_000_000,
    })  # fmt: skip
    key: str = made["key"]
    return key


# --- the matrix --------------------------------------------------------------------------------


@dataclass
class Row:
    storage: str
    dialect: str
    scenario: str
    concurrency: int
    direct_rps: float
    gateway_rps: float
    direct_p50_ms: float
    gateway_p50_ms: float
    added_p50_ms: float
    gateway_p99_ms: float
    gateway_cpu_ms_per_req: float
    errors: int


async def measure(target: Target, pid: int | None, requests: int, concurrency: int
                  ) -> tuple[LoadResult, float]:  # fmt: skip
    before = tree_cpu_seconds(pid) if pid else 0.0
    result = await run_load(target, requests=requests, concurrency=concurrency)
    cpu = (tree_cpu_seconds(pid) - before) if pid else 0.0
    return result, cpu


async def one_storage(
    storage: str,
    dialects: list[str],
    governance: bool,
    requests: int,
    upstream_port: int,
    workers: int = 1,
) -> tuple[list[Row], dict[str, float | str]]:
    rows: list[Row] = []
    extra: dict[str, float | str] = {}
    with tempfile.TemporaryDirectory() as tmp, storage_database(storage, Path(tmp)) as env:
        # The embedded default runs one process (its counters live in it); more workers need
        # PostgreSQL and Redis.
        env["STARGATE_WORKERS"] = str(workers if storage == "postgres" else 1)
        gw_port, admin_port = free_port(), free_port()
        with gateway(gw_port, upstream_port, Path(tmp), env, admin_port) as (_, first):
            extra[f"{storage}: first start to ready (migrations run), public / admin, s"] = (
                f"{first.public:.2f} / {first.admin:.2f}"
            )
        with gateway(gw_port, upstream_port, Path(tmp), env, admin_port) as (gw, again):
            extra[f"{storage}: start to ready (database at head), public / admin, s"] = (
                f"{again.public:.2f} / {again.admin:.2f}"
            )
            assert gw.pid
            key = governed_key(admin_port) if governance else MASTER_KEY
            for dialect in dialects:
                for stream in (False, True):  # warm both paths
                    await run_load(gateway_target(gw_port, dialect, key, stream=stream),
                                   requests=300, concurrency=8)  # fmt: skip
                    await run_load(direct_target(upstream_port, dialect, stream=stream),
                                   requests=300, concurrency=8)  # fmt: skip
            plan = [("non-stream", False, 1, max(300, requests // 6)),
                    ("non-stream", False, 32, requests),
                    ("stream", True, 1, max(300, requests // 6)),
                    ("stream", True, 32, requests)]  # fmt: skip
            for dialect in dialects:
                for name, stream, conc, n in plan:
                    direct, _ = await measure(
                        direct_target(upstream_port, dialect, stream=stream), None, n, conc
                    )
                    via, cpu = await measure(
                        gateway_target(gw_port, dialect, key, stream=stream), gw.pid, n, conc
                    )
                    rows.append(_row(storage, dialect, name, conc, direct, via, cpu))
                    if via.first_error or direct.first_error:
                        print("first error:", via.first_error or direct.first_error)
            rss, _, processes = tree_memory_mb(gw.pid)
            extra[f"{storage}: gateway RSS after load, all {processes} processes, MB"] = round(
                rss, 1
            )
    return rows, extra


def _row(storage: str, dialect: str, name: str, conc: int, direct: LoadResult, via: LoadResult,
         cpu: float) -> Row:  # fmt: skip
    return Row(
        storage=storage,
        dialect=dialect,
        scenario=name,
        concurrency=conc,
        direct_rps=round(direct.throughput),
        gateway_rps=round(via.throughput),
        direct_p50_ms=round(direct.percentile(0.5) * 1000, 3),
        gateway_p50_ms=round(via.percentile(0.5) * 1000, 3),
        added_p50_ms=round((via.percentile(0.5) - direct.percentile(0.5)) * 1000, 3),
        gateway_p99_ms=round(via.percentile(0.99) * 1000, 3),
        gateway_cpu_ms_per_req=round(cpu / max(1, via.requests) * 1000, 3),
        errors=direct.errors + via.errors,
    )


async def matrix(
    requests: int,
    storages: list[str],
    dialects: list[str],
    governance: bool,
    workers: int = 1,
    upstream: str = "fake",
) -> tuple[list[Row], dict[str, float | str]]:
    rows: list[Row] = []
    extra: dict[str, float | str] = {}
    with upstream_process(upstream) as (port, proc):
        for storage in storages:
            found, more = await one_storage(storage, dialects, governance, requests, port, workers)
            rows += found
            extra.update(more)
        extra[f"upstream: {UPSTREAMS[upstream]}; its RSS, MB"] = round(rss_mb(proc.pid), 1)
    return rows, extra


UPSTREAMS = {
    "fake": "bench.fake_bedrock replaying the emulator's answers",
    "emulator": "stargate emulator --fast",
}


def bench_answers(emulator_port: int) -> dict[str, fake_bedrock.Recording]:
    """The emulator's answers to the bench's four requests (both dialects, streamed or not),
    recorded for :mod:`bench.fake_bedrock`."""
    return fake_bedrock.record(
        (t.url, dict(t.headers), t.body)
        for t in (direct_target(emulator_port, dialect, stream=stream)
                  for dialect in ("openai", "anthropic") for stream in (False, True))
    )  # fmt: skip


@contextlib.contextmanager
def upstream_process(kind: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """The upstream every scenario calls, directly and through the gateway: the emulator, or
    (``fake``) the emulator's answers to the bench's four requests, recorded from it and
    replayed by :mod:`bench.fake_bedrock` (the emulator stopped before any load)."""
    emu_port = free_port()
    with emulator(emu_port) as emu:
        if kind == "emulator":
            yield emu_port, emu
            return
        recordings = bench_answers(emu_port)
    with tempfile.TemporaryDirectory() as tmp:
        answers = Path(tmp) / "answers.json"
        fake_bedrock.save(recordings, answers)
        port = free_port()
        with fake_bedrock_process(port, answers) as fake:
            yield port, fake


@contextlib.contextmanager
def storage_database(name: str, workdir: Path) -> Iterator[dict[str, str]]:
    """The environment of a gateway on ``name`` storage, on a database of its own (a
    PostgreSQL schema is dropped afterwards)."""
    if name == "embedded":
        yield {"DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}"}
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        yield {"DATABASE_URL": f"{POSTGRES_URL}?schema={schema}", "STARGATE_REDIS_URL": REDIS_URL}
    finally:
        _drop_schema(schema)


def _drop_schema(schema: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-q", "-c",
         f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'],
        check=False, capture_output=True,
    )  # fmt: skip


def render(rows: list[Row], extra: dict[str, float | str]) -> str:
    head = (
        "| storage | dialect | scenario | conc. | direct req/s | gateway req/s | gateway/direct "
        "| direct p50 ms | gateway p50 ms | added p50 ms | gateway p99 ms | gateway CPU ms/req "
        "| errors |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        ratio = r.gateway_rps / r.direct_rps if r.direct_rps else 0
        lines.append(
            f"| {r.storage} | {r.dialect} | {r.scenario} | {r.concurrency} | {r.direct_rps} "
            f"| {r.gateway_rps} | {ratio:.0%} | {r.direct_p50_ms} | {r.gateway_p50_ms} "
            f"| {r.added_p50_ms} | {r.gateway_p99_ms} | {r.gateway_cpu_ms_per_req} | {r.errors} |"
        )
    lines.append("")
    lines.extend(f"- {k}: {v}" for k, v in extra.items())
    cores = len(os.sched_getaffinity(0))
    lines.append(
        f"- machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {cores} cores; pure-Python speed: {python_loop_s():.2f} s "
        "of CPU for 10^7 loop additions in a function (lower is faster)"
    )
    return "\n".join(lines)


def python_loop_s() -> float:
    """A fixed pure-Python workload, the best of three: how fast this machine runs the
    interpreter, to compare figures taken on different days (the gateway's CPU per request is
    almost all interpreter time)."""
    best = float("inf")
    for _ in range(3):
        started, total = time.process_time(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--storage", default="embedded,postgres")
    parser.add_argument("--dialect", default="openai,anthropic")
    parser.add_argument("--governance", choices=["on", "off"], default="on")
    parser.add_argument(
        "--workers", type=int, default=1, help="gateway processes for postgres (embedded: 1)"
    )
    parser.add_argument(
        "--upstream", choices=sorted(UPSTREAMS), default="fake",
        help="fake: the emulator's answers replayed (default); emulator: the emulator itself",
    )  # fmt: skip
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    storages = [s for s in args.storage.split(",") if s]
    dialects = [d for d in args.dialect.split(",") if d]
    unknown = set(storages) - {"embedded", "postgres"} | set(dialects) - {"openai", "anthropic"}
    if unknown:
        parser.error(f"unknown: {sorted(unknown)}")
    governed = args.governance == "on"
    rows, extra = asyncio.run(
        matrix(args.requests, storages, dialects, governed, args.workers, args.upstream)
    )
    print(render(rows, extra))
    if args.json:
        args.json.write_text(json.dumps({"rows": [asdict(r) for r in rows], **extra}, indent=2))


if __name__ == "__main__":
    main()
