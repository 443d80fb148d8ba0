"""`make run` on a fresh checkout serves, and the curl it prints returns a completion."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from tests.e2e.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_prints_a_curl_that_works(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STARGATE_"))}
    env.update(
        STARGATE_PORT=str(free_port()),
        STARGATE_ADMIN_PORT=str(free_port()),
        EMULATOR_PORT=str(free_port()),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
    )
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    try:
        assert proc.stdout is not None
        output = []
        deadline = time.monotonic() + 90
        for line in proc.stdout:
            output.append(line)
            if "Press Ctrl-C" in line or time.monotonic() > deadline:
                break
        text = "".join(output)
        match = re.search(r"^curl .*?(?<!\\)\n(?=\n)", text, re.M | re.S)
        assert match, text
        curl = match.group(0)
        result = subprocess.run(
            ["bash", "-c", curl], capture_output=True, text=True, timeout=30, check=True
        )
        completion = json.loads(result.stdout)
        assert completion["object"] == "chat.completion"
        assert completion["choices"][0]["message"]["content"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
