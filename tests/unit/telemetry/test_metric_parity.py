"""The deferred metric values (plain Python totals folded into prometheus_client when read)
expose exactly what prometheus_client exposes when it is fed every update itself: the whole
text exposition, byte for byte (``_created`` instants aside), in a single process and across
worker processes sharing ``PROMETHEUS_MULTIPROC_DIR``."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from stargate.core import Usage
from stargate.telemetry import Metrics, RequestLabels
from stargate.telemetry.metric_values import SeriesTable
from tests.unit.telemetry.exposition import parse_samples, value
from tests.unit.telemetry.parity import PlainTable, normalise, plain_metrics, record_sequence

SETTINGS = [
    pytest.param({}, id="default"),
    pytest.param({"max_label_values": 2}, id="capped-labels"),
    pytest.param({"drop_high_cardinality_labels": True}, id="dropped-labels"),
    pytest.param({"cache_size": 2}, id="tiny-cache"),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_single_process_exposition_is_prometheus_clients(settings: dict[str, object]) -> None:
    with plain_metrics():
        reference = Metrics(**settings)  # type: ignore[arg-type]
    metrics = Metrics(**settings)  # type: ignore[arg-type]
    assert type(reference._series) is PlainTable
    assert metrics._series.deferred
    for part in range(3):  # scraped between parts: a fold, then more updates, then a fold
        record_sequence(reference, part)
        record_sequence(metrics, part)
        expected = normalise(reference.exposition())
        assert normalise(metrics.exposition()) == expected
        assert b"litellm_llm_api_latency_metric_bucket" in expected


def test_a_scrape_sees_every_update_made_before_it() -> None:
    metrics = Metrics()
    labels = RequestLabels("m", user="u")
    for n in range(1, 4):
        metrics.observe_success(labels, usage=Usage(1, 1), cost_micro=1, upstream_s=0.1,
                                total_s=0.2)  # fmt: skip
        metrics.request_started()
        s = parse_samples(metrics.exposition())
        assert value(s, "litellm_proxy_total_requests_metric_total") == n
        assert value(s, "litellm_request_total_latency_metric_count") == n
        assert value(s, "litellm_in_flight_requests") == n
    # Reading the registry by any other way folds too.
    families = {f.name: f for f in metrics.registry.collect()}
    assert families["litellm_in_flight_requests"].samples[0].value == 3


def test_spend_is_the_exact_sum_of_micro_usd_converted_once() -> None:
    """The one deliberate difference from feeding prometheus_client ``cost / 1e6`` per
    request: the total is summed in integer micro-USD, so no rounding accumulates."""
    metrics = Metrics()
    labels = RequestLabels("m")
    for cost in (100_000, 200_000):
        metrics.observe_success(labels, usage=None, cost_micro=cost, upstream_s=0.1, total_s=0.1)
    assert b"litellm_spend_metric_total{" in metrics.exposition()
    assert value(parse_samples(metrics.exposition()), "litellm_spend_metric_total") == 0.3
    assert 0.1 + 0.2 != 0.3  # what a running float sum would have shown


def _requests(metrics: Metrics) -> float:
    s = parse_samples(metrics.exposition())
    return sum(v for (n, _), v in s.items() if n == "litellm_proxy_total_requests_metric_total")


def test_folds_on_several_threads_never_move_a_counter_backwards() -> None:
    metrics = Metrics()
    labels = RequestLabels("m")
    seen: list[list[float]] = [[], []]
    stop = threading.Event()

    def scrape(into: list[float]) -> None:
        while not stop.is_set():
            into.append(_requests(metrics))

    scrapers = [threading.Thread(target=scrape, args=(into,)) for into in seen]
    for thread in scrapers:
        thread.start()
    try:
        for _ in range(20_000):
            metrics.observe_success(labels, usage=None, cost_micro=None, upstream_s=0.0,
                                    total_s=0.0)  # fmt: skip
    finally:
        stop.set()
        for thread in scrapers:
            thread.join()
    assert _requests(metrics) == 20_000
    for scrapes in seen:  # each thread's scrapes, in the order it made them
        assert scrapes
        assert scrapes == sorted(scrapes)


def test_the_table_hands_out_one_series_per_metric_and_labels() -> None:
    metrics = Metrics()
    table: SeriesTable = metrics._series
    assert table.counter(metrics.admissions, ("a",)) is table.counter(metrics.admissions, ("a",))
    assert table.deferred


# --- several worker processes -------------------------------------------------------------

WORKER = """
import sys
from pathlib import Path
from stargate.telemetry import Metrics
from tests.unit.telemetry.parity import plain_metrics, record_sequence

directory, mode, part, ending = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
if mode == "plain":
    with plain_metrics():
        metrics = Metrics(multiprocess_dir=directory, max_label_values=3)
else:
    metrics = Metrics(multiprocess_dir=directory, max_label_values=3)
record_sequence(metrics, part)
print("ready", flush=True)
if ending == "wait":
    sys.stdin.read()
metrics.close()
"""


def _worker(
    stack: contextlib.ExitStack, directory: Path, mode: str, part: int, ending: str
) -> subprocess.Popen[str]:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    proc = stack.enter_context(subprocess.Popen(
        [sys.executable, "-c", WORKER, str(directory), mode, str(part), ending],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ))  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _scrape(directory: Path) -> bytes:
    done = subprocess.run(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from stargate.telemetry import multiprocess; "
         "sys.stdout.buffer.write(multiprocess.collect(Path(sys.argv[1])))", str(directory)],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)},
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout


def test_multiprocess_exposition_is_prometheus_clients(tmp_path: Path) -> None:
    """Per mode, its own directory: one worker records and shuts down (its counters folded into
    the archives), another records and stays up while a third process scrapes; then it shuts
    down and the directory is scraped again. Both scrapes equal the reference's, line for line
    (sorted: prometheus_client merges the workers' files in an order that follows their pids)."""
    scrapes: dict[str, list[bytes]] = {}
    for mode in ("plain", "deferred"):
        directory = tmp_path / mode
        directory.mkdir()
        with contextlib.ExitStack() as stack:
            first = _worker(stack, directory, mode, 0, "exit")
            assert first.wait(timeout=30) == 0
            alive = _worker(stack, directory, mode, 1, "wait")
            live = _scrape(directory)
            assert alive.stdin is not None
            alive.stdin.close()
            assert alive.wait(timeout=30) == 0
            scrapes[mode] = [live, _scrape(directory)]
    live, after = scrapes["deferred"]
    assert sorted(live.splitlines()) == sorted(scrapes["plain"][0].splitlines())
    assert sorted(after.splitlines()) == sorted(scrapes["plain"][1].splitlines())
    s = parse_samples(live)
    assert value(s, "litellm_in_flight_requests") == 1  # the live worker's gauge only
    assert value(s, "litellm_llm_api_latency_metric_bucket", le="0.005") > 0
    gone = parse_samples(after)
    assert not any(n == "litellm_in_flight_requests" and v for (n, _), v in gone.items())
