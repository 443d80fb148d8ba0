"""Run the benchmark matrix and print a table: the upstream called directly beside the gateway.

    uv run python -m bench.run [--requests 3000] [--json out.json]

Loopback only. Every phase is bounded in request count and time. CPU per request is the
gateway process's own CPU time (user + system, from /proc) over the requests it served.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench.load import LoadResult, Target, run_load
from bench.procs import (
    ACCESS_KEY_ID,
    MASTER_KEY,
    SECRET_ACCESS_KEY,
    cpu_seconds,
    emulator,
    free_port,
    gateway,
    rss_mb,
)

PROMPT = "Summarise the benefits of an LLM gateway in one paragraph."
UPSTREAM_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1%3A0"


def direct_target(emulator_port: int, *, stream: bool) -> Target:
    """A SigV4-signed Converse request, signed once and replayed (valid for 15 minutes)."""
    op = "converse-stream" if stream else "converse"
    url = f"http://127.0.0.1:{emulator_port}/model/{UPSTREAM_MODEL}/{op}"
    body = orjson.dumps(
        {
            "messages": [{"role": "user", "content": [{"text": PROMPT}]}],
            "inferenceConfig": {"maxTokens": 256},
        }
    )
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/json"})  # fmt: skip
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "bedrock", "us-east-1").add_auth(
        request
    )
    return Target(url, dict(request.headers.items()), body, stream=stream)


def gateway_target(port: int, *, stream: bool) -> Target:
    body = orjson.dumps(
        {
            "model": "claude-haiku-4-5",
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": 256,
            "stream": stream,
        }
    )
    headers = {"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"}
    return Target(f"http://127.0.0.1:{port}/v1/chat/completions", headers, body, stream=stream)


@dataclass
class Row:
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
    before = cpu_seconds(pid) if pid else 0.0
    result = await run_load(target, requests=requests, concurrency=concurrency)
    cpu = (cpu_seconds(pid) - before) if pid else 0.0
    return result, cpu


async def matrix(requests: int) -> tuple[list[Row], dict[str, float]]:
    emu_port, gw_port = free_port(), free_port()
    rows: list[Row] = []
    extra: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        emulator(emu_port) as emu,
        gateway(gw_port, emu_port, Path(tmp)) as (gw, startup),
    ):
        extra["start_to_ready_s"] = startup
        assert gw.pid
        for stream in (False, True):  # warm both paths
            await run_load(gateway_target(gw_port, stream=stream), requests=200, concurrency=8)
            await run_load(direct_target(emu_port, stream=stream), requests=200, concurrency=8)
        plan = [("non-stream", False, 1, max(200, requests // 6)),
                ("non-stream", False, 32, requests),
                ("stream", True, 1, max(200, requests // 6)),
                ("stream", True, 32, requests)]  # fmt: skip
        for name, stream, conc, n in plan:
            direct, _ = await measure(direct_target(emu_port, stream=stream), None, n, conc)
            via, cpu = await measure(gateway_target(gw_port, stream=stream), gw.pid, n, conc)
            rows.append(
                Row(
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
            )
            if via.first_error or direct.first_error:
                print("first error:", via.first_error or direct.first_error)
        extra["gateway_rss_mb_after_load"] = round(rss_mb(gw.pid), 1)
        extra["emulator_rss_mb"] = round(rss_mb(emu.pid), 1)
    return rows, extra


def render(rows: list[Row], extra: dict[str, float]) -> str:
    head = (
        "| scenario | conc. | direct req/s | gateway req/s | gateway/direct | direct p50 ms "
        "| gateway p50 ms | added p50 ms | gateway p99 ms | gateway CPU ms/req | errors |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        ratio = r.gateway_rps / r.direct_rps if r.direct_rps else 0
        lines.append(
            f"| {r.scenario} | {r.concurrency} | {r.direct_rps} | {r.gateway_rps} | {ratio:.0%} "
            f"| {r.direct_p50_ms} | {r.gateway_p50_ms} | {r.added_p50_ms} | {r.gateway_p99_ms} "
            f"| {r.gateway_cpu_ms_per_req} | {r.errors} |"
        )
    lines.append("")
    lines.extend(f"- {k}: {v}" for k, v in extra.items())
    cores = len(os.sched_getaffinity(0))
    lines.append(
        f"- machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {cores} cores"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows, extra = asyncio.run(matrix(args.requests))
    print(render(rows, extra))
    if args.json:
        args.json.write_text(json.dumps({"rows": [asdict(r) for r in rows], **extra}, indent=2))


if __name__ == "__main__":
    main()
