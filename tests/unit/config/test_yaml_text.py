"""The YAML reader: exact decimals, refused duplicate keys, merge keys, and line numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stargate.config.yaml_text import parse_yaml
from stargate.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.000003", Decimal("0.000003")),
        ("3.0e-6", Decimal("0.000003")),
        ("-1.5", Decimal("-1.5")),
        ("1_000.25", Decimal("1000.25")),
        ("0.1", Decimal("0.1")),
        (".inf", Decimal("Infinity")),
    ],
)
def test_floats_become_exact_decimals(text: str, expected: Decimal) -> None:
    value = parse_yaml(f"price: {text}", "f.yaml").data["price"]
    assert isinstance(value, Decimal)
    assert value == expected


def test_other_scalars_keep_their_yaml_types() -> None:
    data = parse_yaml("a: 4000\nb: true\nc: null\nd: '0.5'\ne: v1:0", "f.yaml").data
    assert data == {"a": 4000, "b": True, "c": None, "d": "0.5", "e": "v1:0"}


def test_a_key_written_twice_is_refused_with_both_lines() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_yaml("general_settings:\n  port: 1\n  port: 2\n", "f.yaml")
    assert str(caught.value) == (
        "f.yaml: line 3: key general_settings.port is written twice (first on line 2)"
    )


def test_merge_keys_fill_in_and_explicit_keys_override() -> None:
    text = "base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n"
    assert parse_yaml(text, "f.yaml").data["item"] == {"x": 1, "y": 3}


def test_lines_are_recorded_for_keys_and_list_items() -> None:
    text = "model_list:\n  - model_name: a\n  - model_name: b\n    litellm_params: {}\n"
    lines = parse_yaml(text, "f.yaml").lines
    assert lines[("model_list",)] == 1
    assert lines[("model_list", 1)] == 3
    assert lines[("model_list", 1, "litellm_params")] == 4


def test_non_string_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="line 2: keys under environment_variables must be"):
        parse_yaml("environment_variables:\n  1: x\n", "f.yaml")


def test_invalid_yaml_names_line_and_column() -> None:
    with pytest.raises(ConfigError, match=r"^f\.yaml: invalid YAML at line 2, column \d+: "):
        parse_yaml("a: [1, 2\nb: 3\n", "f.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['true']",
        "a: !!python/name:os.system",
        "a: !!set {x: null}",
        "a: !custom {x: 1}",
    ],
)
def test_tags_beyond_plain_yaml_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match=r"f\.yaml: .*(tag|could not determine a constructor)"):
        parse_yaml(text, "f.yaml")


def test_an_empty_document_is_none() -> None:
    assert parse_yaml("# only a comment\n", "f.yaml").data is None
