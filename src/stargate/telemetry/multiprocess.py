"""Several worker processes, one ``/metrics``: prometheus_client's multiprocess mode, kept tidy.

With ``PROMETHEUS_MULTIPROC_DIR`` set in the environment *before the process starts*
(prometheus_client chooses its value store at import), every worker writes its values to
``<type>_<pid>.db`` files in that directory and a scrape adds them up. Left alone, the files of
dead workers pile up (scrapes slow down as they do). Here:

* a worker that shuts down calls :func:`retire_worker`: its live gauges are dropped
  (``mark_process_dead``) and its counters and histograms are folded into one archive file per
  type (``counter_archive.db``, ``histogram_archive.db``), so nothing counted is lost and no file
  of it remains;
* every scrape first does the same for workers that died without shutting down (a kill, a
  crash), found by their pid no longer running.

Folding and scraping hold an exclusive ``flock`` on ``<dir>/.stargate.lock``, so a scrape never
sees a value twice or not at all. The directory belongs to one host (or pod): pids mean nothing
across hosts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.values import MutexValue, ValueClass

from stargate.errors import ConfigError

__all__ = [
    "ENV_VAR",
    "collect",
    "fold_dead_workers",
    "multiprocess_dir",
    "multiprocess_store_active",
    "retire_worker",
]

ENV_VAR = "PROMETHEUS_MULTIPROC_DIR"
_LOCK = ".stargate.lock"
_FOLDED = ("counter", "histogram")  # additive across processes: safe to sum into an archive
_ARCHIVE = "archive"


def multiprocess_dir(env: Mapping[str, str]) -> Path | None:
    """The multiprocess directory ``env`` names, checked; ``None`` when unset."""
    value = env.get(ENV_VAR, "").strip()
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise ConfigError(f"{value!r} is not a directory", source="environment", path=ENV_VAR)
    return path


def multiprocess_store_active() -> bool:
    """Whether prometheus_client writes values to files in this process (it decided at import,
    from the environment of that moment)."""
    return ValueClass is not MutexValue


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process: running
        return True
    return True


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with (directory / _LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_of(path: Path) -> int | None:
    last = path.stem.rsplit("_", 1)[-1]
    return int(last) if last.isdigit() else None


def _fold(directory: Path, pids: Iterable[int]) -> None:
    """Add the counters and histograms of ``pids`` to the archives, then delete their files.
    The caller holds the lock."""
    pids = set(pids)
    for pid in pids:
        mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
    for kind in _FOLDED:
        files = [p for p in directory.glob(f"{kind}_*.db") if _pid_of(p) in pids]
        if not files:
            continue
        archive = directory / f"{kind}_{_ARCHIVE}.db"
        sources = [str(p) for p in ([archive] if archive.exists() else []) + files]
        merged = MultiProcessCollector.merge(sources, accumulate=False)  # type: ignore[no-untyped-call]
        fresh = directory / f"{kind}_{_ARCHIVE}.tmp"
        fresh.unlink(missing_ok=True)
        store = MmapedDict(str(fresh))  # type: ignore[no-untyped-call]
        try:
            for metric in merged:
                for sample in metric.samples:
                    key = mmap_key(
                        metric.name,
                        sample.name,
                        list(sample.labels),
                        list(sample.labels.values()),
                        metric.documentation,
                    )
                    store.write_value(key, sample.value, 0.0)  # type: ignore[no-untyped-call]
        finally:
            store.close()  # type: ignore[no-untyped-call]
        os.replace(fresh, archive)
        for path in files:
            path.unlink(missing_ok=True)


def fold_dead_workers(directory: Path, *, alive: Callable[[int], bool] = _alive) -> list[int]:
    """Retire every worker whose files are in ``directory`` but whose pid no longer runs;
    returns their pids."""
    with _locked(directory):
        pids = {pid for p in directory.glob("*.db") if (pid := _pid_of(p)) is not None}
        dead = sorted(pid for pid in pids if pid != os.getpid() and not alive(pid))
        if dead:
            _fold(directory, dead)
        return dead


def retire_worker(directory: Path, pid: int | None = None) -> None:
    """At a worker's shutdown: drop its live gauges, fold its counters and histograms."""
    with _locked(directory):
        _fold(directory, [os.getpid() if pid is None else pid])


def collect(directory: Path) -> bytes:
    """The exposition of every worker's values (dead workers folded first)."""
    fold_dead_workers(directory)
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    with _locked(directory):
        return generate_latest(registry)
