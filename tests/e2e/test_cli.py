"""The `stargate` command: config check and start-up failures speak plainly."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.processes import free_port, gateway_env, stargate_command

GOOD = """
model_list:
  - model_name: claude-haiku-4-5
    litellm_params:
      model: bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0
      aws_region_name: us-east-1
"""

BAD_TYPE = """
model_list:
  - model_name: claude-haiku-4-5
    litellm_params:
      model: 42
"""

UNKNOWN_KEY = """
model_list:
  - model_name: claude-haiku-4-5
    litellm_params:
      model: bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0
      aws_regoin_name: us-east-1
"""


def run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*stargate_command(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=gateway_env("http://127.0.0.1:9", tmp),
    )


def test_config_check_accepts_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD)
    result = run("config", "check", str(path), tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "claude-haiku-4-5" in result.stdout


def test_config_check_names_the_bad_field(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BAD_TYPE)
    result = run("config", "check", str(path), tmp=tmp_path)
    assert result.returncode != 0
    assert str(path) in result.stderr
    assert "model_list[0].litellm_params.model" in result.stderr


def test_unknown_key_gets_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(UNKNOWN_KEY)
    result = run("config", "check", str(path), tmp=tmp_path)
    assert result.returncode != 0
    assert "aws_regoin_name" in result.stderr
    assert "aws_region_name" in result.stderr


def test_serve_refuses_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BAD_TYPE)
    result = run(
        "serve", "--config", str(path), "--port", str(free_port()),
        "--admin-port", str(free_port()), tmp=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert "model_list[0].litellm_params.model" in result.stderr
