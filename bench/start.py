"""Start to ready, repeated: the medians of several starts of ``stargate serve`` per storage.

    uv run python -m bench.start [--storage embedded,postgres] [--rounds 2] [--restarts 4]

Each round makes a fresh database (as :mod:`bench.run` does): its first start migrates it, every
later start finds it at head, as a restart does. A start is timed from the process's start to
``/health/liveliness`` answering on the public listener, and then on the admin listener, which
serves a moment later (:func:`bench.procs.gateway`). Start times move a lot on a busy machine:
medians, with the range.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.procs import Startup, emulator, free_port, gateway
from bench.run import storage_database


def _line(label: str, starts: list[Startup]) -> str:
    public = [s.public for s in starts]
    admin = [s.admin for s in starts]
    return (
        f"{label}: n={len(starts)}, public median {statistics.median(public):.2f} s "
        f"({min(public):.2f}-{max(public):.2f}), admin median {statistics.median(admin):.2f} s "
        f"({min(admin):.2f}-{max(admin):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="embedded,postgres")
    parser.add_argument("--rounds", type=int, default=2, help="fresh databases per storage")
    parser.add_argument("--restarts", type=int, default=4, help="starts at head per database")
    args = parser.parse_args()
    storages = [s for s in args.storage.split(",") if s]
    if set(storages) - {"embedded", "postgres"}:
        parser.error(f"unknown storage: {sorted(set(storages) - {'embedded', 'postgres'})}")
    emu_port = free_port()
    with emulator(emu_port):
        for storage in storages:
            first: list[Startup] = []
            again: list[Startup] = []
            for _ in range(args.rounds):
                with (
                    tempfile.TemporaryDirectory() as tmp,
                    storage_database(storage, Path(tmp)) as env,
                ):
                    for i in range(args.restarts + 1):
                        with gateway(free_port(), emu_port, Path(tmp), env) as (_, startup):
                            (again if i else first).append(startup)
                        time.sleep(0.2)  # let the stopped process's sockets and files go
            print(_line(f"{storage}: first start (migrations run)", first))
            print(_line(f"{storage}: start at head", again))


if __name__ == "__main__":
    main()
