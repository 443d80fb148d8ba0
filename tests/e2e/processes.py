"""Start real `stargate` processes (the emulator and the gateway) for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

TEST_ACCESS_KEY_ID = "AKIDEXAMPLE"
TEST_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
MASTER_KEY = "sk-test-master-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stargate_command() -> list[str]:
    exe = shutil.which("stargate", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "stargate.cli"]


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}: {log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Emulator:
    url: str
    proc: subprocess.Popen[bytes]


@dataclass
class Gateway:
    url: str
    admin_url: str
    master_key: str
    proc: subprocess.Popen[bytes]
    log: Path


def gateway_env(emulator_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STARGATE_", "LITELLM_"))
    }
    env.update(
        AWS_ACCESS_KEY_ID=TEST_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=TEST_SECRET_ACCESS_KEY,
        AWS_BEDROCK_RUNTIME_ENDPOINT=emulator_url,
        AWS_EC2_METADATA_DISABLED="true",
        STARGATE_MASTER_KEY=MASTER_KEY,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp / 'stargate.db'}",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def run_emulator(tmp: Path) -> Iterator[Emulator]:
    port = free_port()
    log = tmp / "emulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*stargate_command(), "emulator", "--port", str(port),
             "--access-key-id", TEST_ACCESS_KEY_ID, "--secret-access-key", TEST_SECRET_ACCESS_KEY],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/_emulator/stats", proc, log)
        yield Emulator(url, proc)
    finally:
        stop(proc)


@contextlib.contextmanager
def run_gateway(emulator_url: str, tmp: Path, *args: str, **env_extra: str) -> Iterator[Gateway]:
    port, admin_port = free_port(), free_port()
    log = tmp / "gateway.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*stargate_command(), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--admin-port", str(admin_port), *args],
            env=gateway_env(emulator_url, tmp, **env_extra),
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        admin_url = f"http://127.0.0.1:{admin_port}"
        wait_http(f"{url}/health/liveliness", proc, log)
        wait_http(f"{admin_url}/health/liveliness", proc, log)  # serves a moment after public
        yield Gateway(url, admin_url, MASTER_KEY, proc, log)
    finally:
        stop(proc)
