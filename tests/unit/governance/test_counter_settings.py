"""The configuration that selects and shapes the counters: Redis URL, failure policy, timezone."""

from __future__ import annotations

from pathlib import Path

import pytest

from stargate.config import GatewayConfig, load_config
from stargate.errors import ConfigError


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> GatewayConfig:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env or {})


def test_without_settings_counters_are_in_process_fail_closed_in_utc(tmp_path: Path) -> None:
    config = load(tmp_path, "")
    assert config.redis_url is None
    assert config.redis_failure_policy == "closed"
    assert config.counter_allotments is True
    assert config.budget_timezone == "UTC"
    assert config.warnings == ()


def test_file_settings_are_read(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "general_settings:\n"
        "  redis_url: redis://cache:6379/2\n"
        "  redis_failure_policy: open\n"
        "  counter_allotments: false\n"
        "  budget_timezone: Europe/Berlin\n",
    )
    assert config.redis_url == "redis://cache:6379/2"
    assert config.redis_failure_policy == "open"
    assert config.counter_allotments is False
    assert config.budget_timezone == "Europe/Berlin"


def test_the_environment_url_wins_and_stays_out_of_repr(tmp_path: Path) -> None:
    text = "general_settings:\n  redis_url: redis://file:6379/0\n"
    config = load(tmp_path, text, {"REDIS_URL": "redis://:secret@env:6379/0"})
    assert config.redis_url == "redis://:secret@env:6379/0"
    assert "secret" not in repr(config)
    config = load(tmp_path, text, {"STARGATE_REDIS_URL": "redis://mine:6379/0", "REDIS_URL": "x"})
    assert config.redis_url == "redis://mine:6379/0"


def test_litellm_timezone_is_used_and_budget_timezone_wins(tmp_path: Path) -> None:
    only_litellm = load(tmp_path, "litellm_settings:\n  timezone: America/New_York\n")
    assert only_litellm.budget_timezone == "America/New_York"
    assert only_litellm.warnings == ()
    both = load(
        tmp_path,
        "litellm_settings:\n  timezone: America/New_York\n"
        "general_settings:\n  budget_timezone: Asia/Kolkata\n",
    )
    assert both.budget_timezone == "Asia/Kolkata"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "general_settings:\n  budget_timezone: Mars/Olympus\n",
            "general_settings.budget_timezone",
        ),
        ("litellm_settings:\n  timezone: CEST+2\n", "litellm_settings.timezone"),
        ("general_settings:\n  redis_failure_policy: sometimes\n", "redis_failure_policy"),
        ("general_settings:\n  counter_allotments: maybe\n", "counter_allotments"),
    ],
)
def test_bad_values_are_refused_with_their_path(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        load(tmp_path, text)
