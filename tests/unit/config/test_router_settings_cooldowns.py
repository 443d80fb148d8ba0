from __future__ import annotations

from pathlib import Path

import pytest

from stargate.config.loader import load_config
from stargate.errors import ConfigError


def load(tmp_path: Path, router_settings: str) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n"
        "  - model_name: m\n"
        "    litellm_params: {model: bedrock/us.amazon.nova-micro-v1:0}\n"
        f"router_settings:\n{router_settings}"
    )
    return load_config(path, {})


def test_cooldown_settings_are_read_the_litellm_way(tmp_path: Path) -> None:
    config = load(tmp_path, "  allowed_fails: 1\n  cooldown_time: 30\n  disable_cooldowns: true\n")
    assert (config.allowed_fails, config.cooldown_seconds, config.cooldowns_enabled) == (
        1, 30.0, False,
    )  # fmt: skip
    assert not any("allowed_fails" in w or "cooldown" in w for w in config.warnings)


def test_cooldowns_default_to_litellms_values(tmp_path: Path) -> None:
    config = load(tmp_path, "  model_group_alias: {}\n")
    assert (config.allowed_fails, config.cooldown_seconds, config.cooldowns_enabled) == (
        3, 5.0, True,
    )  # fmt: skip


def test_a_negative_cooldown_is_an_error_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cooldown_time"):
        load(tmp_path, "  cooldown_time: -1\n")
