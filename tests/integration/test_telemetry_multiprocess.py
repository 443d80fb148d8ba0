"""Several worker processes share one /metrics through PROMETHEUS_MULTIPROC_DIR, and leave no
files behind: a worker that shuts down retires its files, a killed one is retired by the next
scrape, and nothing counted is lost."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stargate.telemetry import multiprocess

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

WORKER = """
import sys
from pathlib import Path
from stargate.core import Usage
from stargate.telemetry import Metrics, RequestLabels

directory, requests, ending = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
metrics = Metrics(multiprocess_dir=directory)
metrics.request_started()
for _ in range(requests):
    metrics.observe_success(RequestLabels("model-cheap", user="u1"), usage=Usage(10, 5),
                            cost_micro=1500, upstream_s=0.2, total_s=0.3)
metrics.set_ledger_queue_depth(3)
print("ready", flush=True)
if ending == "wait":
    sys.stdin.read()  # until the parent closes our stdin
metrics.request_finished()
metrics.close()
"""


def parse_samples(text: bytes) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and wanted <= ls]
    assert found, f"no sample {name} with {labels}"
    return sum(found)


def start(
    stack: contextlib.ExitStack, directory: Path, requests: int, ending: str
) -> subprocess.Popen[str]:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    proc = stack.enter_context(subprocess.Popen(
        [sys.executable, "-c", WORKER, str(directory), str(requests), ending],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ))  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def files_of(directory: Path, pid: int) -> list[str]:
    return sorted(p.name for p in directory.glob(f"*_{pid}.db"))


def test_workers_add_up_and_retired_workers_leave_no_files(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        check_workers(stack, tmp_path)


def check_workers(stack: contextlib.ExitStack, tmp_path: Path) -> None:
    clean = start(stack, tmp_path, 3, "exit")
    assert clean.wait(timeout=30) == 0
    assert files_of(tmp_path, clean.pid) == []  # retired at shutdown

    crashed = start(stack, tmp_path, 4, "wait")
    crashed.send_signal(signal.SIGKILL)
    crashed.wait(timeout=30)
    assert files_of(tmp_path, crashed.pid) != []  # a kill leaves its files...

    alive = start(stack, tmp_path, 2, "wait")
    try:
        s = parse_samples(multiprocess.collect(tmp_path))
        assert files_of(tmp_path, crashed.pid) == []  # ...until the next scrape retires them
        assert files_of(tmp_path, alive.pid) != []
        assert value(s, "litellm_proxy_total_requests_metric_total", user="u1") == 9
        assert value(s, "litellm_total_tokens_metric_total") == 9 * 15
        assert value(s, "litellm_spend_metric_total") == pytest.approx(9 * 0.0015)
        assert value(s, "litellm_llm_api_latency_metric_count") == 9
        assert value(s, "litellm_llm_api_latency_metric_bucket", le="0.25") == 9
        assert value(s, "litellm_llm_api_latency_metric_bucket", le="0.1") == 0
        # Live gauges count only the live worker.
        assert value(s, "litellm_in_flight_requests") == 1
        assert value(s, "stargate_ledger_queue_depth") == 3
    finally:
        assert alive.stdin is not None
        alive.stdin.close()
        assert alive.wait(timeout=30) == 0

    s = parse_samples(multiprocess.collect(tmp_path))
    assert value(s, "litellm_proxy_total_requests_metric_total") == 9
    assert value(s, "litellm_llm_api_latency_metric_sum") == pytest.approx(9 * 0.2)
    assert not any(name == "litellm_in_flight_requests" and v for (name, _), v in s.items())
    remaining = sorted(p.name for p in tmp_path.glob("*.db"))
    assert remaining == ["counter_archive.db", "histogram_archive.db"]


def test_folding_again_keeps_the_archive_exact(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        for requests in (1, 2, 3):
            worker = start(stack, tmp_path, requests, "exit")
            assert worker.wait(timeout=30) == 0
    s = parse_samples(multiprocess.collect(tmp_path))
    assert value(s, "litellm_proxy_total_requests_metric_total") == 6
    assert value(s, "litellm_request_total_latency_metric_bucket", le="+Inf") == 6
    assert value(s, "litellm_request_total_latency_metric_count") == 6


BUDGET_WORKER = """
import sys
from pathlib import Path
from stargate.telemetry import Metrics
from stargate.telemetry.metric_labels import BudgetOwner

metrics = Metrics(multiprocess_dir=Path(sys.argv[1]))
print("ready", flush=True)
for line in sys.stdin:  # "<max micro> <reset at>": report the key's budget
    limit, reset_at = line.split()
    metrics.set_budget(BudgetOwner("key", "kh", "ci"), max_micro=int(limit), spent_micro=0,
                       reset_at=float(reset_at))
    print("set", flush=True)
metrics.close()
"""


def test_a_budget_limit_set_again_shows_over_another_workers_newer_one(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    with contextlib.ExitStack() as stack:
        one, two = (stack.enter_context(subprocess.Popen(
            [sys.executable, "-c", BUDGET_WORKER, str(tmp_path)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )) for _ in range(2))  # fmt: skip

        def report(worker: subprocess.Popen[str], limit: int, reset_at: int) -> None:
            assert worker.stdin is not None
            assert worker.stdout is not None
            worker.stdin.write(f"{limit} {reset_at}\n")
            worker.stdin.flush()
            assert worker.stdout.readline().strip() == "set"

        for worker in (one, two):
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        report(one, 10_000_000, 1_000)
        report(two, 20_000_000, 2_000)  # the limit and the window changed
        report(one, 10_000_000, 1_000)  # and back: the first worker has already shown these
        s = parse_samples(multiprocess.collect(tmp_path))
        assert value(s, "litellm_api_key_max_budget_metric", hashed_api_key="kh") == 10.0
        assert value(s, "stargate_budget_reset_timestamp_seconds", scope="key") == 1_000
        for worker in (one, two):
            assert worker.stdin is not None
            worker.stdin.close()
            assert worker.wait(timeout=30) == 0


def test_an_unset_or_missing_directory(tmp_path: Path) -> None:
    from stargate.errors import ConfigError

    assert multiprocess.multiprocess_dir({}) is None
    assert multiprocess.multiprocess_dir({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}) == tmp_path
    with pytest.raises(ConfigError, match="not a directory"):
        multiprocess.multiprocess_dir({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "nope")})
