"""LiteLLM's ``os.environ/NAME`` references, resolved through a mapping (never ``os.environ``
itself, so tests and ``environment_variables`` defaults need no process-wide state)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stargate.config.location import Loc, Locator

__all__ = ["ENV_PREFIX", "resolve_env_refs", "resolve_env_refs_lenient"]

ENV_PREFIX = "os.environ/"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def resolve_env_refs(value: Any, lookup: Mapping[str, str], loc: Loc, locator: Locator) -> Any:
    """Replace every ``os.environ/NAME`` string in ``value`` (nested lists and mappings
    included) by the variable's value. A variable that is not set is an error naming the
    field and the variable."""
    if isinstance(value, str):
        name = _reference(value)
        if name is None:
            return value
        if not _NAME.fullmatch(name):
            raise locator.error(loc, f"{value!r} does not name an environment variable")
        if name not in lookup:
            raise locator.error(loc, f"environment variable {name} is not set")
        return lookup[name]
    if isinstance(value, dict):
        return {k: resolve_env_refs(v, lookup, (*loc, k), locator) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env_refs(v, lookup, (*loc, i), locator) for i, v in enumerate(value)]
    return value


def resolve_env_refs_lenient(value: Any, lookup: Mapping[str, str]) -> Any:
    """As :func:`resolve_env_refs`, but a reference to an unset variable stays as written. Used
    for the settings Stargate keeps raw without using them, where a missing variable is no
    reason to refuse the file."""
    if isinstance(value, str):
        name = _reference(value)
        return lookup.get(name, value) if name is not None else value
    if isinstance(value, dict):
        return {k: resolve_env_refs_lenient(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env_refs_lenient(v, lookup) for v in value]
    return value


def _reference(text: str) -> str | None:
    return text[len(ENV_PREFIX) :] if text.startswith(ENV_PREFIX) else None
