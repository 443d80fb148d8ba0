"""`stargate serve --workers N`: several processes behind the same listeners on PostgreSQL and
Redis, one /metrics for all, a killed worker replaced, a graceful stop; and the embedded default
refusing to run several workers (its counters live in the process)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.e2e.admin_client import new_key
from tests.e2e.processes import MASTER_KEY, Emulator, gateway_env, run_gateway, stargate_command
from tests.integration.store_fixtures import _drop_schema, postgres_url, run_in_thread
from tests.redis_service import require_redis
from tests.unit.telemetry.promql import Scrape, Store, evaluate

pytestmark = pytest.mark.e2e
__all__ = ["postgres_url"]  # the fixture, imported for this module's tests


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def chat(url: str, key: str) -> int:
    response = httpx.post(
        url + "/v1/chat/completions",
        json={"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}],
              "max_tokens": 16},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )  # fmt: skip
    return response.status_code


def test_the_embedded_default_refuses_several_workers(emulator: Emulator, tmp_path: Path) -> None:
    done = subprocess.run(
        [*stargate_command(), "serve", "--port", "0", "--admin-port", "0", "--workers", "2"],
        env=gateway_env(emulator.url, tmp_path), cwd=tmp_path, capture_output=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    message = done.stderr.decode()
    assert "Redis" in message
    assert "one worker" in message


def test_workers_share_the_listeners_the_metrics_and_the_budgets(
    emulator: Emulator, tmp_path: Path, postgres_url: str
) -> None:
    schema = f"stargate_workers_{uuid.uuid4().hex[:10]}"
    env = {"DATABASE_URL": f"{postgres_url}?schema={schema}", "REDIS_URL": require_redis()}
    try:
        with run_gateway(emulator.url, tmp_path, "--workers", "2", **env) as gateway:
            supervisor = gateway.proc.pid
            eventually(lambda: len(children(supervisor)) == 2, "two workers")
            workers = children(supervisor)
            key = new_key(gateway, max_budget=5.0, models=["claude-haiku-4-5"])
            statuses = [chat(gateway.url, key) for _ in range(30)]
            assert statuses == [200] * 30
            # One /metrics adds up every worker (each scrape may land on either).
            text = httpx.get(gateway.url + "/metrics", timeout=10).text
            total = evaluate(
                "sum(litellm_proxy_total_requests_metric_total)",
                Store.of([Scrape(0.0, text)]),
                0.0,
            )
            assert total == [({}, 30.0)]
            # A worker killed outright is replaced, and requests keep being served.
            victim = sorted(workers)[0]
            os.kill(victim, signal.SIGKILL)
            eventually(
                lambda: len(children(supervisor)) == 2 and victim not in children(supervisor),
                "a replacement worker",
            )
            assert [chat(gateway.url, key) for _ in range(10)] == [200] * 10
            assert chat(gateway.url, MASTER_KEY) == 200
            # SIGTERM: every worker drains and the supervisor exits cleanly.
            gateway.proc.send_signal(signal.SIGTERM)
            assert gateway.proc.wait(timeout=60) == 0
            assert children(supervisor) == set()
    finally:
        run_in_thread(_drop_schema(postgres_url, schema))
