"""Several worker processes behind the same two listeners, one per core.

The supervisor binds the public and the admin sockets, then forks the workers before it has
started any thread or event loop. prometheus_client must already be pointed at a multiprocess
directory (``PROMETHEUS_MULTIPROC_DIR``, set by ``stargate serve`` before anything is imported),
so that ``/metrics`` adds every worker up. Each worker serves both sockets with its own runtime (its
own database pool, ledger journal and upstream connections); the kernel spreads connections
between them. SIGTERM or SIGINT reaches the supervisor, which passes SIGTERM on: every worker
drains its requests (up to 30 s) and settles what it reserved. A worker that dies on its own is
started again (at most once a second).

Several workers need state shared between processes: the budget and rate-limit counters in
Redis and the database in PostgreSQL. The embedded default (in-process counters, SQLite) runs
one worker, because each worker's counters would only see its own requests and the budgets
would no longer hold; :func:`check_workers` says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

from stargate.config.loader import GatewayConfig
from stargate.telemetry.multiprocess import ENV_VAR as METRICS_DIR_VAR

__all__ = ["WorkerError", "check_workers", "default_workers", "supervise"]

_RESTART_PAUSE_S = 1.0
_DRAIN_S = 40.0  # uvicorn's 30 s graceful shutdown, plus closing the runtime


class WorkerError(Exception):
    """Several workers were asked for where one must serve (the message says why)."""


def default_workers() -> int:
    """One per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


def check_workers(config: GatewayConfig, workers: int) -> None:
    if workers < 1:
        raise WorkerError("--workers must be at least 1")
    if workers == 1:
        return
    if not config.redis_url:
        raise WorkerError(
            f"{workers} workers need shared budget and rate-limit counters: set a Redis URL "
            "(REDIS_URL or general_settings.redis_url). Without Redis the counters live in the "
            "process, so each worker would let through its own share of every budget; the "
            "embedded default runs one worker."
        )
    if config.database_url.startswith("sqlite"):
        raise WorkerError(
            f"{workers} workers need PostgreSQL (DATABASE_URL): SQLite is the embedded "
            "single-process default."
        )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def supervise(
    config: GatewayConfig,
    workers: int,
    serve: Callable[[GatewayConfig, list[socket.socket]], None],
    *,
    on_ready: Callable[[str], None] | None = None,
) -> int:
    """Run ``workers`` forked processes of ``serve(config, [public, admin])`` until SIGTERM or
    SIGINT; return the exit status."""
    if not os.environ.get(METRICS_DIR_VAR):
        raise WorkerError(f"{METRICS_DIR_VAR} must be set before the process imports anything")
    public = _bind(config.host, config.port)
    admin = _bind(config.admin_host, config.admin_port)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    children: dict[int, int] = {}  # pid -> slot
    started_at: dict[int, float] = {}

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            status = 0
            try:
                serve(config, [public, admin])
            except BaseException:  # a worker reports why it stopped, then exits
                import traceback

                traceback.print_exc()
                status = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        children[pid] = slot
        started_at[slot] = time.monotonic()

    try:
        for slot in range(workers):
            spawn(slot)
        if on_ready is not None:
            on_ready(f"{workers} workers, pids {' '.join(map(str, children))}")
        while not stopping:
            with contextlib.suppress(ChildProcessError, InterruptedError):
                pid, _status = os.waitpid(-1, os.WNOHANG)
                if pid and pid in children:
                    slot = children.pop(pid)
                    if not stopping:
                        pause = _RESTART_PAUSE_S - (time.monotonic() - started_at[slot])
                        if pause > 0:
                            time.sleep(pause)
                        spawn(slot)
            time.sleep(0.1)
        return _drain(children)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        public.close()
        admin.close()


def _drain(children: dict[int, int]) -> int:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _DRAIN_S
    status = 0
    while children and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError, InterruptedError):
            pid, code = os.waitpid(-1, os.WNOHANG)
            if pid in children:
                children.pop(pid)
                if os.waitstatus_to_exitcode(code) != 0:
                    status = 1
                continue
        time.sleep(0.05)
    for pid in children:  # did not drain in time
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        status = 1
    return status
