"""``stargate.emulator.run`` as a process: it serves, and SIGINT/SIGTERM stop it cleanly."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import orjson
import pytest

SCRIPT = """
import sys
from stargate.emulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, EmulatorConfig, run
config = EmulatorConfig(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, fast=True)
run(config, "127.0.0.1", int(sys.argv[1]))
print("stopped", flush=True)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the emulator exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_emulator/health", timeout=1) as response:
                health: dict[str, object] = orjson.loads(response.read())
                return health
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    raise AssertionError("the emulator did not become healthy within 20 s")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_until_signalled_then_exits_cleanly(signum: signal.Signals) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}", process) == {"status": "ok"}
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().strip() == "stopped"
    assert b"Traceback" not in stderr
