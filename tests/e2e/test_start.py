"""Start-up: the public listener serves first; the admin listener, bound at once, makes an early
client wait for its app instead of refusing it; a port in use fails the start."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx2 as httpx

from tests.e2e.processes import (
    free_port,
    gateway_env,
    stargate_command,
    stop,
    wait_http,
)


def _serve(tmp: Path, port: int, admin_port: int) -> subprocess.Popen[bytes]:
    emulator_url = "http://127.0.0.1:9"  # never called: these tests make no model call
    with (tmp / "gateway.log").open("wb") as log:
        return subprocess.Popen(
            [*stargate_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--admin-port", str(admin_port)],
            env=gateway_env(emulator_url, tmp), stdout=log, stderr=subprocess.STDOUT, cwd=tmp,
        )  # fmt: skip


def test_an_early_admin_client_waits_for_the_admin_app_and_is_served(tmp_path: Path) -> None:
    port, admin_port = free_port(), free_port()
    proc = _serve(tmp_path, port, admin_port)
    try:
        wait_http(f"http://127.0.0.1:{port}/health/liveliness", proc, tmp_path / "gateway.log")
        # The admin app is still being built (a few hundred ms): the connection is accepted by
        # the kernel and answered once it is in place, never with an error.
        answer = httpx.get(f"http://127.0.0.1:{admin_port}/health/liveliness", timeout=30)
        assert answer.status_code == 200, answer.text
        with socket.create_connection(("127.0.0.1", admin_port), timeout=5):
            pass
    finally:
        stop(proc)


def test_a_port_in_use_fails_the_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        for port, admin_port in ((busy, free_port()), (free_port(), busy)):
            proc = _serve(tmp_path, port, admin_port)
            try:
                deadline = time.monotonic() + 60
                while proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert proc.returncode not in (None, 0)
                said = (tmp_path / "gateway.log").read_text()
                assert "is the port in use?" in said or "address already in use" in said
            finally:
                stop(proc)
