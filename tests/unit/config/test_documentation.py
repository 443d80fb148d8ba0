"""docs/configuration.md names every key the loader reads or warns about."""

from __future__ import annotations

from pathlib import Path

import pytest

from stargate.config import litellm_keys
from stargate.config.schema import (
    GeneralSettings,
    LiteLLMParams,
    LiteLLMSettings,
    ModelEntry,
    ModelInfoEntry,
)

DOC = (Path(__file__).parents[3] / "docs" / "configuration.md").read_text(encoding="utf-8")

IMPLEMENTED = {
    "general_settings": GeneralSettings,
    "litellm_settings": LiteLLMSettings,
    "model_list entry": ModelEntry,
    "litellm_params": LiteLLMParams,
    "model_info": ModelInfoEntry,
}
WARNED = {
    name: getattr(litellm_keys, name)
    for name in litellm_keys.__all__
    if name.startswith("LITELLM_")
}


@pytest.mark.parametrize("section", IMPLEMENTED)
def test_every_implemented_key_is_documented(section: str) -> None:
    # Written `key` in a table, or `section.key`.
    missing = [key for key in IMPLEMENTED[section].model_fields if f"{key}`" not in DOC]
    assert missing == []


@pytest.mark.parametrize("table", WARNED)
def test_every_litellm_only_key_is_listed(table: str) -> None:
    missing = sorted(key for key in WARNED[table] if f"`{key}`" not in DOC)
    assert missing == []
