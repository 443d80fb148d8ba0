"""Start the emulator and the gateway as real processes, and read their CPU time from /proc."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
ACCESS_KEY_ID = "AKIDEXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
MASTER_KEY = "sk-bench-master-key-0000000000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its reaped children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / CLK_TCK


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree(root: int) -> list[int]:
    """``root`` and every live descendant (uvicorn's supervisor, its workers, helpers)."""
    children = _children_map()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu_by_pid(root: int) -> dict[int, float]:
    """User + system CPU seconds of each process of the tree: its own time plus its reaped
    children's (so a worker that exits during a phase is still counted, by its parent)."""
    found: dict[int, float] = {}
    for pid in tree(root):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = sum(int(x) for x in fields[11:15]) / CLK_TCK
    return found


def tree_cpu_seconds(root: int) -> float:
    return sum(tree_cpu_by_pid(root).values())


def tree_memory_mb(root: int) -> tuple[float, float, int]:
    """(RSS summed, PSS summed, process count) over the tree. RSS counts shared pages once per
    process; PSS shares them out."""
    rss = pss = 0.0
    pids = tree(root)
    for pid in pids:
        with contextlib.suppress(OSError):
            rss += rss_mb(pid)
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) / 1024
                    break
    return rss, pss, len(pids)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _wait(
    url: str, proc: subprocess.Popen[bytes], timeout: float = 30, started: float | None = None
) -> float:
    """Seconds from ``started`` (default: now) until ``url`` answers below 500."""
    started = time.perf_counter() if started is None else started
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except OSError:
            status = 599  # not listening yet
        if status < 500:
            return time.perf_counter() - started
        time.sleep(0.01)
    raise TimeoutError(url)


def _stargate() -> list[str]:
    return [str(Path(sys.executable).parent / "stargate")]


@contextlib.contextmanager
def emulator(port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [*_stargate(), "emulator", "--fast", "--port", str(port),
         "--access-key-id", ACCESS_KEY_ID, "--secret-access-key", SECRET_ACCESS_KEY],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(f"http://127.0.0.1:{port}/_emulator/stats", proc)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@contextlib.contextmanager
def fake_bedrock_process(port: int, recordings: Path) -> Iterator[subprocess.Popen[bytes]]:
    """:mod:`bench.fake_bedrock` on ``port``, replaying ``recordings``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_bedrock", "--port", str(port),
         "--recordings", str(recordings)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(f"http://127.0.0.1:{port}/model/m/converse", proc)  # a GET: 405, listening
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@dataclass(frozen=True, slots=True)
class Startup:
    """Seconds from the gateway's process start until each listener's ``/health/liveliness``
    answers: the public one serves first, the admin one once its app is built."""

    public: float
    admin: float


@contextlib.contextmanager
def gateway(
    port: int,
    emulator_port: int,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    admin_port: int | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], Startup]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STARGATE_"))}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        AWS_BEDROCK_RUNTIME_ENDPOINT=f"http://127.0.0.1:{emulator_port}",
        AWS_EC2_METADATA_DISABLED="true",
        STARGATE_MASTER_KEY=MASTER_KEY,
        DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
    )
    env.update(extra_env or {})
    admin_port = admin_port or free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*_stargate(), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--admin-port", str(admin_port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        public = _wait(f"http://127.0.0.1:{port}/health/liveliness", proc, started=started)
        admin = _wait(f"http://127.0.0.1:{admin_port}/health/liveliness", proc, started=started)
        yield proc, Startup(public, admin)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
