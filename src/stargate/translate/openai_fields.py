"""Typed reads of OpenAI request fields.

Every read takes the field's path (``messages[2].content[0].image_url.url``) and raises
:class:`~stargate.errors.InvalidRequest` naming that path when the value has the wrong type or
range. Values come straight from ``orjson.loads``, so only JSON types are expected.
"""

from __future__ import annotations

from typing import Any

from stargate.errors import InvalidRequest

__all__ = [
    "expect_bool",
    "expect_int",
    "expect_list",
    "expect_number",
    "expect_object",
    "expect_str",
    "invalid",
    "json_type",
]


def invalid(param: str, problem: str) -> InvalidRequest:
    """The error for a bad field: the message names the field, ``param`` carries its path."""
    return InvalidRequest(f"Invalid '{param}': {problem}", param=param)


def json_type(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    match value:
        case None:
            return "null"
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case str():
            return "string"
        case list():
            return "array"
        case dict():
            return "object"
        case _:
            return type(value).__name__


def expect_str(value: object, param: str, *, non_empty: bool = True) -> str:
    if not isinstance(value, str):
        if value is None:
            raise invalid(param, "this field is required and must be a string.")
        raise invalid(param, f"expected a string, got {json_type(value)}.")
    if non_empty and not value:
        raise invalid(param, "must not be an empty string.")
    return value


def expect_object(value: object, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        if value is None:
            raise invalid(param, "this field is required and must be an object.")
        raise invalid(param, f"expected an object, got {json_type(value)}.")
    return value


def expect_list(value: object, param: str) -> list[Any]:
    if not isinstance(value, list):
        if value is None:
            raise invalid(param, "this field is required and must be an array.")
        raise invalid(param, f"expected an array, got {json_type(value)}.")
    return value


def expect_bool(value: object, param: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(param, f"expected a boolean, got {json_type(value)}.")
    return value


def expect_int(value: object, param: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(param, f"expected an integer >= {minimum}, got {json_type(value)}.")
    if value < minimum:
        raise invalid(param, f"expected an integer >= {minimum}, got {value}.")
    return value


def expect_number(value: object, param: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(
            param, f"expected a number between {low:g} and {high:g}, got {json_type(value)}."
        )
    if not low <= value <= high:
        raise invalid(param, f"expected a number between {low:g} and {high:g}, got {value}.")
    return float(value)
