"""Process settings read from the environment before any config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from stargate.errors import ConfigError
from stargate.settings import Settings


def test_nothing_set_means_embedded_config_info_and_json_logs() -> None:
    assert Settings.from_env({}) == Settings(None, "INFO", "json")


def test_stargate_names_win_over_litellm_names() -> None:
    env = {
        "STARGATE_CONFIG": "/etc/stargate.yaml",
        "CONFIG_FILE_PATH": "/etc/litellm.yaml",
        "STARGATE_LOG_LEVEL": "debug",
        "LITELLM_LOG": "ERROR",
        "STARGATE_LOG_FORMAT": "TEXT",
    }
    assert Settings.from_env(env) == Settings(Path("/etc/stargate.yaml"), "DEBUG", "text")


def test_litellm_names_work_alone() -> None:
    env = {"CONFIG_FILE_PATH": "config.yaml", "LITELLM_LOG": "warn"}
    assert Settings.from_env(env) == Settings(Path("config.yaml"), "WARNING", "json")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"STARGATE_LOG_LEVEL": "loud"},
            "environment: STARGATE_LOG_LEVEL: 'LOUD' is not a log level",
        ),
        ({"LITELLM_LOG": "verbose"}, "environment: LITELLM_LOG: 'VERBOSE' is not a log level"),
        (
            {"STARGATE_LOG_FORMAT": "xml"},
            "environment: STARGATE_LOG_FORMAT: 'xml' is not a log format",
        ),
    ],
)
def test_unusable_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert str(caught.value).startswith(message)
