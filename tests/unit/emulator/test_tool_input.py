"""Tool input built from JSON schema and key=value pairs."""

from __future__ import annotations

import pytest

from stargate.emulator.tool_input import parse_assignments, sample_value, tool_input


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "string"}, "sample"),
        ({"type": "string", "format": "date"}, "2025-01-01"),
        ({"type": "string", "format": "email"}, "user@example.com"),
        ({"type": "integer"}, 1),
        ({"type": "integer", "minimum": 5}, 5),
        ({"type": "number", "maximum": 1}, 1),
        ({"type": "number"}, 1.5),
        ({"type": "boolean"}, True),
        ({"type": "null"}, None),
        ({"type": ["null", "integer"]}, 1),
        ({"enum": ["celsius", "fahrenheit"]}, "celsius"),
        ({"const": "fixed"}, "fixed"),
        ({"type": "string", "default": "dflt"}, "dflt"),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, 1),
        ({"type": "array", "items": {"type": "string"}}, ["sample"]),
        ({"type": "array"}, []),
        ({"$ref": "#/defs/x"}, "sample"),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
                "required": ["a"],
            },
            {"a": 1},
        ),
    ],
)
def test_sample_values_follow_the_schema(schema: dict[str, object], value: object) -> None:
    assert sample_value(schema) == value


def test_only_required_properties_are_filled() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"enum": ["c", "f"]},
            "where": {
                "type": "object",
                "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                "required": ["lat"],
            },
        },
        "required": ["city", "where"],
    }

    assert tool_input(schema, "no pairs here") == {"city": "sample", "where": {"lat": 1.5}}


def test_key_value_pairs_set_properties_converted_to_their_type() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "ratio": {"type": "number"},
            "metric": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "integer"}},
            "extra": {"type": "object"},
        },
        "required": ["city"],
    }
    text = 'city="New York" days=3, ratio=0.5; metric=false tags="1,2" extra={"a":1} other=9'

    assert tool_input(schema, text) == {
        "city": "New York",
        "days": 3,
        "ratio": 0.5,
        "metric": False,
        "tags": [1, 2],
        "extra": {"a": 1},
    }


def test_values_that_do_not_convert_stay_strings() -> None:
    schema = {"type": "object", "properties": {"days": {"type": "integer"}}, "required": ["days"]}

    assert tool_input(schema, "days=three") == {"days": "three"}


def test_assignments_drop_trailing_punctuation_and_keep_the_first_mention() -> None:
    assert parse_assignments("city=Paris. city=Rome unit='deg C'") == {
        "city": "Paris",
        "unit": "deg C",
    }
