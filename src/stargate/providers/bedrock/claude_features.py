"""What Bedrock's InvokeModel accepts from each Claude model family: a data table.

The table ships in the package as ``claude_features.json`` (one row per family: the betas
Bedrock accepts in ``anthropic_beta``, whether ``cache_control`` may carry a ``ttl``, whether the
model can think at all (``extended_thinking``: Claude 3.x cannot), whether
``thinking: {"type": "adaptive"}`` is accepted). When Bedrock gains a model or a beta, an
operator points ``STARGATE_BEDROCK_FEATURES`` at a JSON file of the same shape, which replaces
the shipped table whole: no code change, no release. The table is read once, when the provider
set opens (see ``stargate.providers.registry``); a malformed file is a :class:`ConfigError` at
start-up.

A family is the Anthropic model name without its date and version suffix: the model
``anthropic.claude-sonnet-4-5-20250929-v1:0`` (or any profile id or ARN of it) is family
``claude-sonnet-4-5``. The longest family name that matches wins, and only when what follows is
a date and/or version suffix, so ``claude-sonnet-4-8`` does **not** match ``claude-sonnet-4``.
A Claude model whose family is not in the table gets the most conservative row (the
intersection of every row: the betas all families accept, and a feature only if all have it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from stargate.errors import ConfigError

__all__ = [
    "CONTEXT_1M_BETA",
    "CONTEXT_MANAGEMENT_BETA",
    "EFFORT_BETA",
    "FEATURES_ENV",
    "ClaudeFamily",
    "ClaudeFeatures",
]

FEATURES_ENV = "STARGATE_BEDROCK_FEATURES"
CONTEXT_1M_BETA = "context-1m-2025-08-07"
CONTEXT_MANAGEMENT_BETA = "context-management-2025-06-27"
EFFORT_BETA = "effort-2025-11-24"

_PACKAGED = "claude_features.json"
_FAMILY_NAME = re.compile(r"claude-[a-z0-9][a-z0-9-]*")
_SUFFIX = re.compile(r"(?:-\d{8})?(?:-v\d+)?(?::\d+)?")
_ROW_KEYS = frozenset({"betas", "cache_ttl", "extended_thinking", "adaptive_thinking"})


@dataclass(slots=True, frozen=True)
class ClaudeFamily:
    name: str
    betas: frozenset[str]
    cache_ttl: bool
    extended_thinking: bool
    adaptive_thinking: bool

    @property
    def context_1m(self) -> bool:
        return CONTEXT_1M_BETA in self.betas

    @property
    def effort(self) -> bool:
        return EFFORT_BETA in self.betas


@dataclass(slots=True, frozen=True)
class ClaudeFeatures:
    families: Mapping[str, ClaudeFamily]
    fallback: ClaudeFamily
    source: str

    @classmethod
    def load(cls, environ: Mapping[str, str]) -> ClaudeFeatures:
        """The table named by ``STARGATE_BEDROCK_FEATURES``, else the packaged one."""
        path = environ.get(FEATURES_ENV, "").strip()
        if not path:
            text = resources.files(__package__).joinpath(_PACKAGED).read_text("utf-8")
            return cls.parse(text, source=f"the packaged {_PACKAGED}")
        source = f"{FEATURES_ENV}={path}"
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the file: {exc.strerror}", source=source) from exc
        return cls.parse(text, source=source)

    @classmethod
    def parse(cls, text: str, *, source: str) -> ClaudeFeatures:
        try:
            document: object = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"not valid JSON: {exc}", source=source) from exc
        if not isinstance(document, dict):
            raise ConfigError("expected a JSON object", source=source)
        unknown = set(document) - {"description", "families"}
        if unknown:
            raise ConfigError(f"unknown keys {sorted(unknown)}", source=source)
        rows = document.get("families")
        if not isinstance(rows, dict) or not rows:
            raise ConfigError("'families' must be a non-empty object", source=source)
        families = {name: _family(name, row, source) for name, row in rows.items()}
        return cls(MappingProxyType(families), _intersection(families.values()), source)

    def family(self, model_name: str | None) -> ClaudeFamily:
        """The row of an Anthropic model name (``claude-opus-4-6-v1``); the conservative
        fallback for ``None`` or a family the table does not list."""
        if model_name:
            best: ClaudeFamily | None = None
            for name, row in self.families.items():
                longer = best is None or len(name) > len(best.name)
                if longer and model_name.startswith(name) and _matches_suffix(model_name, name):
                    best = row
            if best is not None:
                return best
        return self.fallback


def _matches_suffix(model_name: str, family: str) -> bool:
    return _SUFFIX.fullmatch(model_name[len(family) :]) is not None


def _family(name: str, row: Any, source: str) -> ClaudeFamily:
    where = f"{source}: families.{name}"
    if not _FAMILY_NAME.fullmatch(name):
        raise ConfigError("a family name looks like 'claude-sonnet-4-5'", source=where)
    if not isinstance(row, dict):
        raise ConfigError("expected an object", source=where)
    if set(row) != _ROW_KEYS:
        raise ConfigError(f"expected exactly the keys {sorted(_ROW_KEYS)}", source=where)
    betas = row["betas"]
    if not isinstance(betas, list) or not all(isinstance(b, str) and b for b in betas):
        raise ConfigError("'betas' must be an array of beta names", source=where)
    for key in ("cache_ttl", "extended_thinking", "adaptive_thinking"):
        if not isinstance(row[key], bool):
            raise ConfigError(f"'{key}' must be true or false", source=where)
    if row["adaptive_thinking"] and not row["extended_thinking"]:
        raise ConfigError("adaptive_thinking needs extended_thinking", source=where)
    return ClaudeFamily(
        name,
        frozenset(betas),
        cache_ttl=row["cache_ttl"],
        extended_thinking=row["extended_thinking"],
        adaptive_thinking=row["adaptive_thinking"],
    )


def _intersection(rows: Any) -> ClaudeFamily:
    rows = list(rows)
    betas = frozenset.intersection(*(row.betas for row in rows))
    return ClaudeFamily(
        "unknown Claude family",
        betas,
        cache_ttl=all(row.cache_ttl for row in rows),
        extended_thinking=all(row.extended_thinking for row in rows),
        adaptive_thinking=all(row.adaptive_thinking for row in rows),
    )
