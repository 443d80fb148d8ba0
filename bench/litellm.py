"""Measure LiteLLM itself on this machine: the calibration for the performance issue's figures.

    uv run python -m bench.litellm [--requests 1000] [--stream-requests 500] [--c1-requests 300]
                                   [--attempts 3] [--quiet-wait 300] [--json out.json]

The performance issue (#7) sets Stargate's targets against LiteLLM 1.106.2 figures taken on
another machine of the same kind. Machines of that kind differ in speed from day to day, so this
runs LiteLLM here, with the issue's setup, and prints each figure beside the issue's: the ratio
is this machine's calibration factor.

LiteLLM is the thing measured, never a dependency of the project: it is installed with its
``proxy`` extra into a throwaway virtualenv outside the project's lock
(``~/.cache/stargate-bench/litellm-1.106.2``, made with ``uv venv`` + ``uv pip install``, reused
when present), and run as a separate program, as a competitor's binary would be.

The setup is the issue's: LiteLLM's recommended two workers (``--num_workers 2``), the OpenAI
path, a master key and no database, against a zero-latency fake OpenAI upstream
(:mod:`bench.fake_openai`, a process of its own); logging quiet (``LITELLM_LOG=ERROR``) and the
bundled model cost map (``LITELLM_LOCAL_MODEL_COST_MAP=True``: this machine has no internet; a
fetch would fail and fall back to the same map). Bytecode is compiled at install, as pip does.

Figures: start to ready (process start to ``/health/liveliness`` answering); CPU per request
(user + system time of the proxy process and every descendant, from /proc, over the requests
served at concurrency 32); added p50 latency at concurrency 1 (LiteLLM's p50 minus the fake's,
same load generator); throughput at concurrency 32; resident memory after load summed over the
process tree. The fake upstream is measured directly with the same load generator
(:mod:`bench.load`), to show it is not the bottleneck. Loopback only; every phase is bounded in
count and time.

The machine may be shared (other sessions' tests and benchmarks): each phase first waits (at most
two minutes) for other processes to go quiet, measures what they used while it ran (all busy CPU
time in /proc/stat minus this bench's processes), and is run again, at most ``--attempts`` times,
when they took more than 0.3 cores; the least disturbed run is kept and its figure printed.
Start to ready is repeated the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from bench.load import LoadResult, Target, run_load
from bench.procs import (
    CLK_TCK,
    MASTER_KEY,
    free_port,
    rss_mb,
    tree_cpu_by_pid,
    tree_cpu_seconds,
    tree_memory_mb,
)

VERSION = "1.106.2"
VENV = Path.home() / ".cache" / "stargate-bench" / f"litellm-{VERSION}"
MODEL = "gpt-fake"
PROMPT = "Summarise the benefits of an LLM gateway in one paragraph."
WORKERS = 2
INSTALL_TIMEOUT_S = 600
READY_TIMEOUT_S = 240
PHASE_DEADLINE_S = 180

# The performance issue's LiteLLM 1.106.2 figures (2 cores, 2 workers, fake upstream, OpenAI path,
# master key, no database). The last field says whether a larger figure means a slower machine.
REFERENCE: list[tuple[str, str, float, bool]] = [
    ("cpu_ns_ms", "CPU per non-streaming request, ms", 13.4, True),
    ("cpu_s_ms", "CPU per streaming request (8 chunks), ms", 28.0, True),
    ("added_p50_ms", "added latency p50 at concurrency 1, ms", 12.8, True),
    ("rps_ns_c32", "throughput, concurrency 32, non-stream, req/s", 100.0, False),
    ("rps_s_c32", "throughput, concurrency 32, stream, req/s", 48.0, False),
    ("rss_mb", "memory after load, all processes, MB", 1225.0, True),
    ("ready_s", "start to ready, s", 18.0, True),
]


# --- the throwaway virtualenv ---------------------------------------------------------------


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(found).exists():
        raise SystemExit("uv not found (export PATH=$HOME/.local/bin:$PATH)")
    return found


def _installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    done = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_litellm(venv: Path = VENV) -> Path:
    """The ``litellm`` executable of LiteLLM ``VERSION`` in ``venv``, installed if missing.

    Outside the project: its own interpreter, its own site-packages, nothing in pyproject.toml or
    uv.lock. Bytecode is compiled (as pip does at install): without it, and with
    ``PYTHONDONTWRITEBYTECODE`` set as on this machine, every start compiles thousands of modules
    and uvicorn's 5-second worker health check kills the workers before they are up."""
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
           }  # fmt: skip
    if _installed_version(python) != VERSION:
        print(f"installing litellm[proxy]=={VERSION} into {venv} (at most 10 minutes)", flush=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([_uv(), "venv", "--quiet", "--clear", "--python", "3.11", str(venv)],
                       env=env, check=True, timeout=120)  # fmt: skip
        started = time.monotonic()
        subprocess.run(
            [_uv(), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python),
             f"litellm[proxy]=={VERSION}"],
            env=env, check=True, timeout=INSTALL_TIMEOUT_S,
        )  # fmt: skip
        print(f"installed in {time.monotonic() - started:.0f} s", flush=True)
    # A venv made without --compile-bytecode: compile now (a no-op when up to date).
    site = next((venv / "lib").glob("python3*/site-packages"))
    subprocess.run([str(python), "-m", "compileall", "-q", "-j", "0", str(site)],
                   capture_output=True, check=False, timeout=INSTALL_TIMEOUT_S)  # fmt: skip
    if _installed_version(python) != VERSION:
        raise SystemExit(f"litellm {VERSION} is not importable from {venv}")
    return venv / "bin" / "litellm"


# --- processes ----------------------------------------------------------------------------------


def busiest_split(before: dict[int, float], after: dict[int, float]) -> str:
    """The share of the CPU the two busiest processes (the workers) used between two readings,
    e.g. ``"71/29"``: uvicorn's workers share one listening socket, and each keeps the
    keep-alive connections it accepted, so the load generator's 32 connections may not be split
    evenly."""
    used = sorted((after[pid] - before.get(pid, 0.0) for pid in after), reverse=True)[:2]
    total = sum(used)
    return "/".join(f"{100 * u / total:.0f}" for u in used) if total else "-"


def machine_ticks() -> tuple[int, int]:
    """(busy, steal) clock ticks of all CPUs since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq, steal


class Others:
    """CPU the rest of the machine used over a span: everything busy minus this bench's own
    processes (the load generator, the fake upstream, the proxy's tree). Other work on a shared
    machine (another engineer's benchmark) takes cores from the one measured here."""

    def __init__(self, *roots: int) -> None:
        self.roots = roots
        self.start()

    def _mine(self) -> float:
        return time.process_time() + sum(tree_cpu_seconds(pid) for pid in self.roots)

    def start(self) -> None:
        self.began = time.perf_counter()
        self.busy, self.steal = machine_ticks()
        self.mine = self._mine()

    def cores(self) -> tuple[float, float]:
        """(cores used by other processes, cores stolen by the hypervisor) since ``start``."""
        elapsed = max(1e-6, time.perf_counter() - self.began)
        busy, steal = machine_ticks()
        others = (busy - self.busy) / CLK_TCK - (self._mine() - self.mine)
        return max(0.0, others) / elapsed, (steal - self.steal) / CLK_TCK / elapsed


def wait_for_quiet(
    max_wait_s: float, *roots: int, threshold: float = 0.3, window_s: float = 5.0
) -> float:
    """Wait (at most ``max_wait_s``) until other processes use under ``threshold`` cores over a
    ``window_s`` window (``roots``: this bench's process trees, not counted); returns the last
    window's figure."""
    began = time.monotonic()
    while True:
        span = Others(*roots)
        time.sleep(window_s)
        others, _ = span.cores()
        waited = time.monotonic() - began
        if others < threshold or waited >= max_wait_s:
            if waited > window_s * 1.5:
                print(f"  waited {waited:.0f} s for other processes to go quiet "
                      f"(last {window_s:g} s: {others:.2f} cores)", flush=True)  # fmt: skip
            return others


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float, log: Path | None = None
               ) -> float:  # fmt: skip
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"{proc.args[:2]} exited with {proc.returncode}\n{tail}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as resp:
            if resp.status == 200:
                return time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def _stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Stop a process started in a session of its own, then anything left in its group."""
    if proc.poll() is None:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # the group we made: the proxy's workers and helpers
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@contextlib.contextmanager
def fake_upstream(port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_openai", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_http(f"http://127.0.0.1:{port}/v1/models", proc, timeout=30)
        yield proc
    finally:
        _stop(proc)


CONFIG = """\
model_list:
  - model_name: {model}
    litellm_params:
      model: openai/{model}
      api_base: http://127.0.0.1:{upstream}/v1
      api_key: sk-fake-upstream-dummy
litellm_settings:
  set_verbose: false
general_settings:
  master_key: {master_key}
"""


@contextlib.contextmanager
def litellm_proxy(
    executable: Path, port: int, upstream_port: int, workdir: Path
) -> Iterator[tuple[subprocess.Popen[bytes], float, Path]]:
    """LiteLLM's proxy with ``--num_workers 2``, a master key and no database; yields the
    process, its start to ready in seconds and its log file."""
    config = workdir / "config.yaml"
    config.write_text(CONFIG.format(model=MODEL, upstream=upstream_port, master_key=MASTER_KEY))
    # Nothing of this environment's own configuration leaks in: no database URL, no provider
    # keys, no other virtualenv; cwd is an empty directory (LiteLLM reads a .env from it).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LITELLM_", "OPENAI_", "DATABASE_", "STARGATE_", "AWS_"))
           and k not in ("VIRTUAL_ENV", "PYTHONPATH", "REDIS_URL")}  # fmt: skip
    env.update(
        PATH=f"{executable.parent}{os.pathsep}{env.get('PATH', '')}",
        LITELLM_LOG="ERROR",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )
    log = workdir / "litellm.log"
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(executable), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
             "--num_workers", str(WORKERS)],
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_http(f"http://127.0.0.1:{port}/health/liveliness", proc, READY_TIMEOUT_S, log)
        yield proc, time.perf_counter() - started, log
    finally:
        _stop(proc)


# --- the measurements ---------------------------------------------------------------------------


def target(port: int, key: str, *, stream: bool) -> Target:
    body = orjson.dumps({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}],
                         "max_tokens": 256, "stream": stream})  # fmt: skip
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return Target(f"http://127.0.0.1:{port}/v1/chat/completions", headers, body, stream=stream)


@dataclass
class Row:
    scenario: str
    concurrency: int
    direct_requests: int
    direct_rps: float
    litellm_requests: int
    litellm_rps: float
    direct_p50_ms: float
    litellm_p50_ms: float
    added_p50_ms: float
    litellm_p99_ms: float
    litellm_cpu_ms_per_req: float
    others_cores: float
    steal_cores: float
    errors: int
    attempts: int = 1
    worker_split: str = "-"


def _row(name: str, conc: int, direct: LoadResult, via: LoadResult, cpu: float,
         others: tuple[float, float]) -> Row:  # fmt: skip
    return Row(
        scenario=name,
        concurrency=conc,
        direct_requests=direct.requests,
        direct_rps=round(direct.throughput),
        litellm_requests=via.requests,
        litellm_rps=round(via.throughput, 1),
        direct_p50_ms=round(direct.percentile(0.5) * 1000, 3),
        litellm_p50_ms=round(via.percentile(0.5) * 1000, 3),
        added_p50_ms=round((via.percentile(0.5) - direct.percentile(0.5)) * 1000, 3),
        litellm_p99_ms=round(via.percentile(0.99) * 1000, 3),
        litellm_cpu_ms_per_req=round(cpu / max(1, via.requests) * 1000, 2),
        others_cores=round(others[0], 2),
        steal_cores=round(others[1], 2),
        errors=direct.errors + via.errors,
    )


def _log_lines_of_note(log: Path) -> list[str]:
    """Warnings, errors and tracebacks in LiteLLM's output (the banner is left out)."""
    pattern = re.compile(r"warn|error|traceback|exception|killed|timeout", re.IGNORECASE)
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    lines = [ansi.sub("", line).strip() for line in log.read_text(errors="replace").splitlines()]
    return [line for line in lines if pattern.search(line) and "issues/new" not in line]


async def phase(
    name: str,
    stream: bool,
    conc: int,
    n: int,
    upstream: tuple[int, int],
    proxy: tuple[int, int],
    quiet_wait: float,
    attempts: int,
) -> tuple[Row, str | None]:
    """One scenario: the fake upstream directly, then through LiteLLM. Run again (at most
    ``attempts`` times) when other processes used more than 0.3 cores meanwhile; the attempt
    they disturbed least is kept."""
    (up_port, up_pid), (proxy_port, proxy_pid) = upstream, proxy
    best: tuple[Row, str | None] | None = None
    runs = 0
    while runs < attempts:
        runs += 1
        wait_for_quiet(min(quiet_wait, 120), proxy_pid, up_pid, window_s=3)
        # The fake alone gets at least 2,000 requests at concurrency 32: enough to show its
        # ceiling.
        direct = await run_load(target(up_port, "sk-dummy", stream=stream),
                                requests=max(n, 2000) if conc > 1 else n, concurrency=conc,
                                deadline_s=PHASE_DEADLINE_S)  # fmt: skip
        before = tree_cpu_by_pid(proxy_pid)
        span = Others(proxy_pid, up_pid)
        via = await run_load(target(proxy_port, MASTER_KEY, stream=stream), requests=n,
                             concurrency=conc, deadline_s=PHASE_DEADLINE_S)  # fmt: skip
        after = tree_cpu_by_pid(proxy_pid)
        cpu = sum(after.values()) - sum(before.values())
        row = _row(name, conc, direct, via, cpu, span.cores())
        row.worker_split = busiest_split(before, after)
        print(f"  {name} c{conc}: {via.requests} requests, {via.throughput:.1f} req/s, "
              f"other processes {row.others_cores:.2f} cores", flush=True)  # fmt: skip
        if best is None or row.others_cores < best[0].others_cores:
            best = (row, via.first_error or direct.first_error)
        if row.others_cores < 0.3:
            break
    assert best is not None
    best[0].attempts = runs
    return best


async def measure(
    requests: int,
    stream_requests: int,
    c1_requests: int,
    executable: Path,
    quiet_wait: float,
    attempts: int,
) -> tuple[list[Row], dict[str, float], dict[str, object]]:
    up_port, proxy_port = free_port(), free_port()
    notes: dict[str, object] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-litellm-") as tmp,
        fake_upstream(up_port) as upstream,
    ):
        # Start to ready, started again (at most ``attempts`` times) when other processes
        # disturbed it; the least disturbed start is reported, the last one is measured.
        started: list[tuple[float, float, float]] = []  # ready s, proxy CPU s, others' cores
        while True:
            wait_for_quiet(quiet_wait if not started else min(quiet_wait, 120), upstream.pid)
            starting = Others(upstream.pid)  # the proxy's own start-up CPU is taken out below
            stack = contextlib.ExitStack()  # the proxy stays up for the load when kept
            try:
                proxy, ready_s, log = stack.enter_context(
                    litellm_proxy(executable, proxy_port, up_port, Path(tmp))
                )
                startup_cpu = tree_cpu_seconds(proxy.pid)
                others = max(0.0, starting.cores()[0] - startup_cpu / ready_s)
            except BaseException:
                stack.close()
                raise
            started.append((ready_s, startup_cpu, others))
            print(f"  start to ready {ready_s:.1f} s, other processes {others:.2f} cores",
                  flush=True)  # fmt: skip
            if others < 0.3 or len(started) >= attempts:
                break
            stack.close()
        ready_s, startup_cpu, startup_others = min(started, key=lambda s: s[2])
        with stack:
            # Warm-up: both paths, enough requests to reach both workers and fill their pools.
            for stream in (False, True):
                for port, key, n in ((up_port, "sk-dummy", 500), (proxy_port, MASTER_KEY, 200)):
                    warm = await run_load(target(port, key, stream=stream), requests=n,
                                          concurrency=8, deadline_s=60)  # fmt: skip
                    if warm.errors:
                        raise RuntimeError(f"warm-up failed on port {port}: {warm.first_error}")
            plan = [
                ("non-stream", False, 1, c1_requests),
                ("non-stream", False, 32, requests),
                ("stream", True, 1, c1_requests),
                ("stream", True, 32, stream_requests),
            ]
            rows: list[Row] = []
            for name, stream, conc, n in plan:
                row, error = await phase(
                    name, stream, conc, n, (up_port, upstream.pid), (proxy_port, proxy.pid),
                    quiet_wait, attempts,
                )  # fmt: skip
                rows.append(row)
                if error:
                    notes[f"first error, {name} c{conc}"] = error
            rss, pss, count = tree_memory_mb(proxy.pid)
            extra = {
                "ready_s": round(ready_s, 2),
                "startup_cpu_s": round(startup_cpu, 1),
                "startup_others_cores": round(startup_others, 2),
                "startup_attempts": len(started),
                "rss_mb": round(rss, 1),
                "pss_mb": round(pss, 1),
                "processes": count,
                "upstream_rss_mb": round(rss_mb(upstream.pid), 1),
            }
            notes["litellm log lines of note"] = _log_lines_of_note(log)
    return rows, extra, notes


def figures(rows: list[Row], extra: dict[str, float]) -> dict[str, float]:
    by = {(r.scenario, r.concurrency): r for r in rows}
    return {
        "cpu_ns_ms": by["non-stream", 32].litellm_cpu_ms_per_req,
        "cpu_s_ms": by["stream", 32].litellm_cpu_ms_per_req,
        "added_p50_ms": by["non-stream", 1].added_p50_ms,
        "rps_ns_c32": by["non-stream", 32].litellm_rps,
        "rps_s_c32": by["stream", 32].litellm_rps,
        "rss_mb": extra["rss_mb"],
        "ready_s": extra["ready_s"],
    }


def python_loop_seconds() -> float:
    """A crude speed probe: a 10^7-iteration pure-Python loop, in this interpreter."""
    started = time.perf_counter()
    for _ in range(10_000_000):
        pass
    return time.perf_counter() - started


def render(rows: list[Row], extra: dict[str, float], notes: dict[str, object]) -> str:
    lines = [
        "| scenario | conc. | fake upstream req/s | LiteLLM req/s | direct p50 ms | LiteLLM p50 ms "
        "| added p50 ms | LiteLLM p99 ms | LiteLLM CPU ms/req | workers' CPU split % "
        "| requests (direct / LiteLLM) | other processes, cores (attempts) | errors |",
        "|" + "---|" * 13,
    ]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {r.concurrency} | {r.direct_rps} | {r.litellm_rps} "
            f"| {r.direct_p50_ms} | {r.litellm_p50_ms} | {r.added_p50_ms} | {r.litellm_p99_ms} "
            f"| {r.litellm_cpu_ms_per_req} | {r.worker_split} "
            f"| {r.direct_requests} / {r.litellm_requests} "
            f"| {r.others_cores} ({r.attempts}) | {r.errors} |"
        )
    found = figures(rows, extra)
    lines += [
        "",
        "| figure | LiteLLM measured here | issue's reference | ratio here/reference "
        "| machine slower by |",
        "|---|---|---|---|---|",
    ]
    for key, label, reference, larger_is_slower in REFERENCE:
        here = found[key]
        ratio = here / reference
        if key == "rss_mb":
            slower = "n/a (not a speed)"
        else:
            slower = f"{ratio if larger_is_slower else 1 / ratio:.2f}x" if here else "n/a"
        lines.append(f"| {label} | {here:g} | {reference:g} | {ratio:.2f} | {slower} |")
    cores = len(os.sched_getaffinity(0))
    memory_gib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    lines += [
        "",
        "- CPU per request is over the concurrency-32 runs; added p50 is LiteLLM's p50 minus the "
        "fake upstream's at concurrency 1, non-streaming",
        f"- memory: RSS summed over {extra['processes']} processes (supervisor, {WORKERS} workers, "
        f"helpers) {extra['rss_mb']} MB; PSS summed {extra['pss_mb']} MB; fake upstream RSS "
        f"{extra['upstream_rss_mb']} MB",
        f"- start to ready: {extra['ready_s']} s, using {extra['startup_cpu_s']} s of the proxy "
        f"tree's CPU; other processes meanwhile {extra['startup_others_cores']} cores "
        f"({extra['startup_attempts']} starts)",
        f"- other processes (not this bench's): cores of the machine's {cores} they used over each "
        "phase's LiteLLM run, in the table; a phase they disturbed (over 0.3 cores) is run again, "
        "the least disturbed run kept; hypervisor steal per phase, cores: "
        + ", ".join(f"{r.steal_cores}" for r in rows),
        f"- machine: {platform.machine()}, {cores} cores, {memory_gib:.0f} GiB; "
        f"bench on {platform.python_implementation()} {platform.python_version()}; "
        f"10^7-iteration Python loop (in a function) {extra['loop_s']:.2f} s",
        f"- LiteLLM {VERSION} ({VENV}), --num_workers {WORKERS}, LITELLM_LOG=ERROR, "
        f"LITELLM_LOCAL_MODEL_COST_MAP=True, master key, no database",
    ]
    for key, value in notes.items():
        if isinstance(value, list):
            lines.append(f"- {key}: {len(value)}")
            lines.extend(f"    {line[:160]}" for line in value[:10])
        else:
            lines.append(f"- {key}: {value}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000,
                        help="non-streaming requests at concurrency 32")  # fmt: skip
    parser.add_argument("--stream-requests", type=int, default=None,
                        help="streaming requests at concurrency 32 (default: half)")  # fmt: skip
    parser.add_argument("--c1-requests", type=int, default=300,
                        help="requests at concurrency 1, in each mode")  # fmt: skip
    parser.add_argument("--quiet-wait", type=float, default=300,
                        help="seconds to wait at most for other processes to go quiet, before "
                             "the start (and up to 120 before each phase)")  # fmt: skip
    parser.add_argument("--attempts", type=int, default=3,
                        help="most runs of a phase that other processes disturb")  # fmt: skip
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    stream_requests = args.stream_requests or max(1, args.requests // 2)
    executable = ensure_litellm()
    loop_s = python_loop_seconds()
    print(f"LiteLLM {VERSION}: {executable}", flush=True)
    rows, extra, notes = asyncio.run(
        measure(
            args.requests,
            stream_requests,
            args.c1_requests,
            executable,
            args.quiet_wait,
            max(1, args.attempts),
        )
    )
    extra["loop_s"] = round(loop_s, 3)
    print()
    print(render(rows, extra, notes))
    if args.json:
        payload = {"litellm_version": VERSION, "rows": [asdict(r) for r in rows], **extra,
                   "figures": figures(rows, extra), "notes": notes,
                   "reference": {key: ref for key, _, ref, _ in REFERENCE}}  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
