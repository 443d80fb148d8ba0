"""The price table Stargate ships: USD per token for the Bedrock models people run.

The data is ``bedrock.json`` next to this module (one row per model and price zone, every price an
exact decimal string, every row with its ``source`` and ``as_of`` date; see the shared reference
``bedrock.md`` §7). A row lists the exact model ids it prices: the base id and the cross-region
inference profile ids (``us.``, ``eu.``, ``apac.``, ``jp.``, ``au.``, ``global.``, ``us-gov.``)
that cost the same. Claude 4.5 models cost 10% more in-region and through geographic profiles
than through ``global.``, so they have two rows; Sonnet 4 and 4.5 have a second price tier for
requests whose prompt exceeds 200K tokens.

The file is read when :func:`load_price_table` is called (never at import).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = ["PriceRow", "PriceTable", "TierPrices", "load_price_table", "model_id_of_arn"]

_DATA = "bedrock.json"
# ARN resource types whose id is a model id or a system inference profile id (the others, such
# as application inference profiles and provisioned models, carry an opaque id).
_ARN_MODEL_RESOURCES = frozenset({"foundation-model", "inference-profile"})


@dataclass(frozen=True, slots=True)
class TierPrices:
    """Prices for requests whose prompt (input plus cache tokens) exceeds 200K tokens."""

    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PriceRow:
    """One model's prices in one price zone, USD per token. ``None``: the model has no such
    charge data (e.g. no prompt caching); ``Decimal(0)``: the charge is known to be free."""

    name: str
    provider: str
    ids: tuple[str, ...]
    input: Decimal
    output: Decimal
    cache_read: Decimal | None
    cache_write_5m: Decimal | None
    cache_write_1h: Decimal | None
    above_200k: TierPrices | None
    source: str
    as_of: date


@dataclass(frozen=True, slots=True)
class PriceTable:
    rows: tuple[PriceRow, ...]
    by_id: Mapping[tuple[str, str], PriceRow]

    @classmethod
    def of(cls, rows: Sequence[PriceRow]) -> PriceTable:
        by_id: dict[tuple[str, str], PriceRow] = {}
        for row in rows:
            for model_id in row.ids:
                if (row.provider, model_id) in by_id:
                    raise ValueError(f"model id {model_id!r} is priced twice")
                by_id[(row.provider, model_id)] = row
        return cls(tuple(rows), MappingProxyType(by_id))

    def lookup(self, provider: str, model: str) -> PriceRow | None:
        """The row for the exact model id sent upstream. An ARN is looked up by the foundation
        model id or inference profile id inside it; other ARNs (application inference profiles,
        provisioned or custom models) have no list price."""
        model_id = model_id_of_arn(model) if model.startswith("arn:") else model
        if model_id is None:
            return None
        return self.by_id.get((provider, model_id))


def model_id_of_arn(arn: str) -> str | None:
    """``arn:aws:bedrock:<region>:<account>:foundation-model/<id>`` (or ``inference-profile/``)
    → ``<id>``; any other ARN → ``None``."""
    fields = arn.split(":", 5)
    if len(fields) != 6:
        return None
    resource_type, slash, resource_id = fields[5].partition("/")
    if not slash or resource_type not in _ARN_MODEL_RESOURCES or not resource_id:
        return None
    return resource_id


def load_price_table() -> PriceTable:
    """Read the shipped table. Raises ``ValueError`` naming the row when the data is malformed
    (a packaging error: the unit tests load it)."""
    text = resources.files(__package__).joinpath(_DATA).read_text(encoding="utf-8")
    document = json.loads(text)
    return PriceTable.of([_row(item, index) for index, item in enumerate(document["models"])])


def _row(item: Mapping[str, Any], index: int) -> PriceRow:
    where = f"{_DATA} models[{index}] ({item.get('name', '?')})"
    try:
        tier = item.get("above_200k")
        return PriceRow(
            name=str(item["name"]),
            provider=str(item["provider"]),
            ids=tuple(str(i) for i in item["ids"]),
            input=_price(item["input"]),
            output=_price(item["output"]),
            cache_read=_optional(item.get("cache_read")),
            cache_write_5m=_optional(item.get("cache_write_5m")),
            cache_write_1h=_optional(item.get("cache_write_1h")),
            above_200k=None
            if tier is None
            else TierPrices(
                input=_price(tier["input"]),
                output=_price(tier["output"]),
                cache_read=_optional(tier.get("cache_read")),
                cache_write_5m=_optional(tier.get("cache_write_5m")),
                cache_write_1h=_optional(tier.get("cache_write_1h")),
            ),
            source=str(item["source"]),
            as_of=date.fromisoformat(str(item["as_of"])),
        )
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise ValueError(f"{where}: {type(exc).__name__}: {exc}") from exc


def _price(text: Any) -> Decimal:
    if not isinstance(text, str):
        raise TypeError(f"a price must be a decimal string, not {type(text).__name__}")
    value = Decimal(text)
    if not value.is_finite() or value < 0:
        raise ValueError(f"{text!r} is not a price")
    return value


def _optional(text: Any) -> Decimal | None:
    return None if text is None else _price(text)
