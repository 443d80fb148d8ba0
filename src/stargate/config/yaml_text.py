"""YAML text → plain Python values, with exact numbers and the line of every key.

PyYAML's ``safe_load`` turns ``0.000003`` into a binary float, and a price that passed through a
float is no longer the price the operator wrote. This loader builds YAML floats as
:class:`~decimal.Decimal` from the scalar's text instead, so ``0.000003`` becomes
``Decimal("0.000003")`` exactly. It also refuses a key written twice in one mapping (YAML would
silently keep the last one) and remembers the line of each key and list item, so an error can
point at the line to fix. Merge keys (``<<: *defaults``) work as in YAML 1.1, and an explicit key
may override a merged one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stargate.config.location import Loc, format_loc
from stargate.errors import ConfigError

__all__ = ["YamlDocument", "parse_yaml"]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed file: its data and the 1-based line of each key and list item."""

    data: Any
    lines: Mapping[Loc, int] = field(default_factory=dict)


class _ExactLoader(yaml.SafeLoader):
    """``SafeLoader`` whose floats are exact decimals."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    assert isinstance(node, ScalarNode)
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text == ".inf":
        return sign * Decimal("Infinity")
    if text == ".nan":
        return Decimal("NaN")
    try:
        if ":" in text:  # YAML 1.1 base-60 float, e.g. 1:30.5
            value = Decimal(0)
            for part in text.split(":"):
                value = value * 60 + Decimal(part)
            return sign * value
        return sign * Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the YAML resolver admits only numbers
        raise yaml.constructor.ConstructorError(
            None, None, f"invalid number {text!r}", node.start_mark
        ) from exc


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def parse_yaml(text: str, source: str) -> YamlDocument:
    """Parse one YAML document. An empty document gives ``data=None``.

    Raises :class:`ConfigError` naming ``source``, the line and the reason for invalid YAML, a
    duplicated key or a key that is not a string.
    """
    loader = _ExactLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        data = None if node is None else _build(loader, node, (), lines, source)
        return YamlDocument(data, lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        reason = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML at {where}: {reason}", source=source) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=source) from exc
    finally:
        loader.dispose()


def _build(loader: _ExactLoader, node: Node, loc: Loc, lines: dict[Loc, int], source: str) -> Any:
    if len(loc) > _MAX_DEPTH:
        raise ConfigError("nesting is too deep (a recursive alias?)", source=source)
    if isinstance(node, MappingNode | SequenceNode) and node.tag not in _PLAIN_TAGS:
        raise ConfigError(
            f"line {node.start_mark.line + 1}: YAML tag {node.tag} is not supported", source=source
        )
    if isinstance(node, MappingNode):
        return _build_mapping(loader, node, loc, lines, source)
    if isinstance(node, SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            lines.setdefault((*loc, index), item.start_mark.line + 1)
            items.append(_build(loader, item, (*loc, index), lines, source))
        return items
    return loader.construct_object(node, deep=True)


def _build_mapping(
    loader: _ExactLoader, node: MappingNode, loc: Loc, lines: dict[Loc, int], source: str
) -> dict[str, Any]:
    explicit: dict[str, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = _key(loader, key_node, loc, source)
        line = key_node.start_mark.line + 1
        if key in explicit:
            where = format_loc((*loc, key))
            raise ConfigError(
                f"line {line}: key {where} is written twice (first on line {explicit[key]})",
                source=source,
            )
        explicit[key] = line
    loader.flatten_mapping(node)  # merged pairs come first, so explicit keys override them
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = _key(loader, key_node, loc, source)
        lines[(*loc, key)] = key_node.start_mark.line + 1
        result[key] = _build(loader, value_node, (*loc, key), lines, source)
    return result


def _key(loader: _ExactLoader, node: Node, loc: Loc, source: str) -> str:
    key = loader.construct_object(node, deep=True) if isinstance(node, ScalarNode) else None
    if not isinstance(key, str):
        raise ConfigError(
            f"line {node.start_mark.line + 1}: keys under {format_loc(loc)} must be strings",
            source=source,
        )
    return key
