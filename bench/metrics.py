"""The CPU one request's metric recording costs: the Metrics calls a successful request makes.

    uv run --frozen python -m bench.metrics [--requests 100000] [--rounds 3] [--principals 20]
        [--multiprocess]

Per request, in the order the request life makes them (``pipeline/records.py`` and the gate):
``request_started``; ``observe_admission("admitted")``; ``Recorder.report_budgets`` with a
key, a user and a team budget (each ``set_budget``: remaining, hours, and the limit and reset
instant when they changed); ``RequestRecord.labels`` (the label tuple, built once);
``observe_attempt`` and ``observe_success`` with usage, a cost and three latencies spread over
the buckets; ``request_finished``; the ledger queue depth and journal size. Callers cycle over
``--principals`` keys (each with its user and team), so label lookups hit warm caches as they
do under load. A scrape (``exposition()``) is not on the request path and is not timed.

Reports ``time.process_time`` per request in microseconds, per round (the machine is noisy:
compare ranges). ``--multiprocess`` records into a fresh ``PROMETHEUS_MULTIPROC_DIR`` (the
variable must be set before prometheus_client is imported, so this re-executes itself with it).

To compare two versions, run the same command against each checkout's sources, alternating:
``PYTHONPATH=/path/to/old/src uv run --frozen python -m bench.metrics``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stargate.config.deployment import Deployment
from stargate.core import Usage
from stargate.governance.admission import BudgetState
from stargate.pipeline.principals import Principal
from stargate.pipeline.records import Recorder, RequestRecord
from stargate.telemetry import Metrics

_LATENCIES = (0.004, 0.03, 0.2, 0.25, 0.7, 1.3, 3.0)  # seconds, over several buckets


def _principals(count: int) -> list[Principal]:
    return [
        Principal(
            kind="key", key_hash=f"{i:064x}", key_alias=f"key-{i}", key_id=f"k{i}",
            user_id=f"user-{i}", user_email=f"user-{i}@example.com", team_id=f"team-{i % 4}",
            team_alias=f"Team {i % 4}",
        )
        for i in range(count)
    ]  # fmt: skip


def _budgets(spent: int) -> list[BudgetState]:
    reset = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(days=1)
    return [
        BudgetState("key:k", "w", 10_000_000, 10_000_000 - spent, reset),
        BudgetState("user:u", "w", 50_000_000, 50_000_000 - spent, reset),
        BudgetState("team:t", "w", 90_000_000, 90_000_000 - spent, None),
    ]


def run(metrics: Metrics, requests: int, principals: int) -> float:
    """Record ``requests`` requests; returns the process CPU seconds they took."""
    recorder = Recorder(metrics)
    deployment = Deployment(id="haiku-use1", model_name="claude-haiku", provider="bedrock",
                            model="us.anthropic.claude-haiku-4-5-20251001-v1:0")  # fmt: skip
    people = _principals(principals)
    records = [
        RequestRecord(recorder, "r", "/v1/chat/completions", "claude-haiku", p, 0.0, False,
                      recorder.tracer.start_request(
                          request_id="r", route="/v1/chat/completions",
                          requested_model="claude-haiku", stream=False, max_tokens=None))
        for p in people
    ]  # fmt: skip
    budgets = [_budgets(spent) for spent in range(0, 70_000, 1_000)]
    usage = Usage(input_tokens=120, output_tokens=40)
    n_people, n_lat, n_budgets = len(people), len(_LATENCIES), len(budgets)
    started = time.process_time()
    for i in range(requests):
        record = records[i % n_people]
        upstream = _LATENCIES[i % n_lat]
        metrics.request_started()
        metrics.observe_admission("admitted")
        recorder.report_budgets(record.principal, budgets[i % n_budgets])
        labels = record.labels(deployment)
        metrics.observe_attempt(labels, status=200, exception_class="")
        metrics.observe_success(
            labels, usage=usage, cost_micro=1_000 + i % 97, upstream_s=upstream,
            total_s=upstream + 0.0015, ttft_s=None,
        )  # fmt: skip
        metrics.request_finished()
        metrics.set_ledger_queue_depth(i % 5)
        metrics.set_journal_bytes(4096 * (i % 3))
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--principals", type=int, default=20)
    parser.add_argument("--multiprocess", action="store_true")
    args = parser.parse_args()
    if args.multiprocess and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        with tempfile.TemporaryDirectory() as directory:
            env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory}
            raise SystemExit(subprocess.call([sys.executable, "-m", "bench.metrics", *sys.argv[1:]],
                                             env=env))  # fmt: skip
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") if args.multiprocess else None
    import stargate

    print(f"stargate from {os.path.dirname(stargate.__file__)}; "
          f"{'multiprocess' if directory else 'single process'}")  # fmt: skip
    results = []
    for _ in range(args.rounds):
        metrics = Metrics(multiprocess_dir=None if directory is None else Path(directory))
        seconds = run(metrics, args.requests, args.principals)
        metrics.exposition()  # what was recorded is readable (not timed)
        metrics.close()
        results.append(seconds / args.requests * 1e6)
        print(f"  {results[-1]:.2f} us CPU per request")
    print(f"min {min(results):.2f}  max {max(results):.2f} us per request ({args.requests:,} "
          f"requests x {args.rounds} rounds)")  # fmt: skip


if __name__ == "__main__":
    main()
