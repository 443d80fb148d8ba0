from __future__ import annotations

from pathlib import Path

import pytest

from stargate.config import load_config
from stargate.errors import ConfigError

MODELS = """
model_list:
  - model_name: claude-opus-4-5
    litellm_params:
      model: bedrock/us.anthropic.claude-opus-4-5-20251101-v1:0
      aws_region_name: us-east-1
  - model_name: claude-sonnet-*
    litellm_params:
      model: bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0
      aws_region_name: us-east-1
"""


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return load_config(path, {})


def test_aliases_load_short_and_long_form(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        MODELS + "router_settings:\n  model_group_alias:\n    opus: claude-opus-4-5\n"
        "    claude-sonnet-5: {model: claude-sonnet-latest, hidden: true}\n",
    )
    assert dict(config.model_aliases) == {  # type: ignore[attr-defined]
        "opus": "claude-opus-4-5",
        "claude-sonnet-5": "claude-sonnet-latest",
    }
    assert config.hidden_aliases == {"claude-sonnet-5"}  # type: ignore[attr-defined]
    assert not [w for w in config.warnings if "model_group_alias" in w]  # type: ignore[attr-defined]


def test_alias_to_an_unknown_model_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, MODELS + "router_settings:\n  model_group_alias:\n    opus: claude-opus-9\n")
    assert caught.value.path == "router_settings.model_group_alias.opus"
    assert "claude-opus-9" in str(caught.value)


def test_alias_cannot_shadow_a_served_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(
            tmp_path,
            MODELS
            + "router_settings:\n  model_group_alias:\n    claude-opus-4-5: claude-sonnet-x\n",
        )
    assert "already a model_name" in str(caught.value)
