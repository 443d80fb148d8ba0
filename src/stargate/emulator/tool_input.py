"""Deterministic tool-call input, built from the tool's JSON schema and the prompt.

Every *required* property gets a sample value by its schema: ``const``, else ``default``, else the
first ``enum`` value, else the first ``anyOf``/``oneOf``/``allOf`` branch, else by ``type``:
string ``"sample"`` (``"2025-01-01"`` for ``format: date``, ``"2025-01-01T00:00:00Z"`` for
``date-time``, ``"user@example.com"`` for ``email``, ``"https://example.com"`` for ``uri``),
integer ``1`` and number ``1.5`` (moved into ``minimum``/``maximum`` when given), boolean
``true``, null ``null``, array one sample item (empty without an ``items`` schema), object its own
required properties. ``$ref`` is not followed (``"sample"``).

Then ``key=value`` pairs in the prompt whose key names a top-level property set that property:
``city=Paris``, ``city="New York"``, ``days=3``. An unquoted value runs to the next whitespace,
comma or semicolon, without trailing ``.:!?)``. The value is converted to the property's type
(integer, number, boolean ``true``/``false``, array of comma-separated items, object or null as
JSON) and kept as a string when it does not convert.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

__all__ = ["parse_assignments", "sample_value", "tool_input"]

_MAX_DEPTH = 8
_ASSIGNMENT = re.compile(r"(?<![\w-])([A-Za-z_][\w-]*)=(?:\"([^\"]*)\"|'([^']*)'|([^\s,;]+))")
_STRING_FORMATS: Mapping[str, str] = {
    "date": "2025-01-01",
    "date-time": "2025-01-01T00:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com",
}


def parse_assignments(text: str) -> dict[str, str]:
    """The ``key=value`` pairs in ``text``; the first mention of a key wins."""
    found: dict[str, str] = {}
    for match in _ASSIGNMENT.finditer(text):
        key, double, single, bare = match.groups()
        if key in found:
            continue
        value = double if double is not None else single if single is not None else bare
        found[key] = value if bare is None else value.rstrip(".:!?)")
    return found


def _schema_type(schema: Mapping[str, object]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        named = [item for item in declared if isinstance(item, str)]
        non_null = [item for item in named if item != "null"]
        return (non_null or named or ["string"])[0]
    if isinstance(declared, str):
        return declared
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _clamp(value: float, schema: Mapping[str, object]) -> float:
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float) and value < low:
        value = low
    if isinstance(high, int | float) and value > high:
        value = high
    return value


def _sample_object(schema: Mapping[str, object], depth: int) -> dict[str, object]:
    properties = schema.get("properties")
    required = schema.get("required")
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        return {}
    return {
        name: sample_value(properties.get(name), depth + 1)
        for name in required
        if isinstance(name, str)
    }


def sample_value(schema: object, depth: int = 0) -> object:
    """A deterministic value that satisfies the common parts of ``schema``."""
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return "sample"
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            return sample_value(branches[0], depth + 1)
    kind = _schema_type(schema)
    if kind == "integer":
        return int(_clamp(1, schema))
    if kind == "number":
        return _clamp(1.5, schema)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "array":
        items = schema.get("items")
        return [sample_value(items, depth + 1)] if isinstance(items, Mapping) else []
    if kind == "object":
        return _sample_object(schema, depth)
    fmt = schema.get("format")
    return _STRING_FORMATS.get(fmt, "sample") if isinstance(fmt, str) else "sample"


def _coerce(raw: str, schema: object) -> object:
    kind = _schema_type(schema) if isinstance(schema, Mapping) else "string"
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
        if kind == "boolean" and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        if kind == "array":
            items = schema.get("items") if isinstance(schema, Mapping) else None
            return [_coerce(part.strip(), items) for part in raw.split(",")]
        if kind in ("object", "null"):
            parsed: object = orjson.loads(raw)
            return parsed
    except (ValueError, orjson.JSONDecodeError):
        return raw
    return raw


def tool_input(schema: Mapping[str, object], prompt_text: str) -> dict[str, object]:
    """The input of a call to a tool with input ``schema``, asked for by ``prompt_text``."""
    value = _sample_object(schema, 0)
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for key, raw in parse_assignments(prompt_text).items():
            if key in properties:
                value[key] = _coerce(raw, properties[key])
    return value
