"""Claude Code from npm, in print mode and a fresh HOME, against Stargate and the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.processes import Gateway

ROOT = Path(__file__).resolve().parents[2]
CLAUDE = ROOT / "tools" / "claude-code" / "node_modules" / ".bin" / "claude"

if not CLAUDE.exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"{CLAUDE} is missing: `make clients` installs it")
    pytest.skip("Claude Code is not installed (run `make clients`)", allow_module_level=True)


def run_claude(
    gateway: Gateway, workdir: Path, prompt: str, *, auth: dict[str, str], timeout: float = 120
) -> tuple[dict[str, object], float]:
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": gateway.url,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK": "1",
        **auth,
    }
    started = time.monotonic()
    result = subprocess.run(
        [str(CLAUDE), "-p", prompt, "--output-format", "json", "--allowedTools", "Read"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON from claude (exit {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(lines[-1]), elapsed


@pytest.mark.parametrize("auth_var", ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"])
def test_claude_code_reads_a_file_through_a_tool_call(
    gateway: Gateway, tmp_path: Path, auth_var: str
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("The deployment token is ZEBRA-4417.\n")
    outcome, _ = run_claude(
        gateway,
        tmp_path,
        f"Use the Read tool with file_path={notes} and tell me the deployment token.",
        auth={auth_var: gateway.master_key},
    )
    assert outcome["is_error"] is False, outcome
    assert outcome["num_turns"] == 2, outcome
    assert "ZEBRA-4417" in str(outcome["result"])


def test_wrong_key_makes_claude_code_stop_at_once(gateway: Gateway, tmp_path: Path) -> None:
    outcome, elapsed = run_claude(
        gateway, tmp_path, "say hello", auth={"ANTHROPIC_API_KEY": "sk-not-a-real-key"}
    )
    assert outcome["is_error"] is True
    assert outcome["api_error_status"] == 401
    assert elapsed < 30, f"Claude Code retried a 401 for {elapsed:.0f} s"
