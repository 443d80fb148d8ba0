"""A deployment's prices: what ``model_info`` says, else the shipped price table.

Prices are USD per token, exact decimals, under LiteLLM's names. The four base prices are
:class:`ModelInfo` fields; the 1-hour cache write price and the >200K-token tier live in
``ModelInfo.extra`` under LiteLLM's keys (:data:`EXTRA_PRICE_KEYS`), where
:func:`stargate.core.cost.cost_micro` reads them.

Resolution is per price: a value written in ``model_info`` (or ``litellm_params``) wins, and each
price it leaves out is taken from the table row of the exact model id the deployment sends (an
ARN by the model or profile id inside it). A deployment left without an input or an output price
is an unpriced model: the loader appends a loud warning to ``GatewayConfig.warnings``, its prices
stay ``None``, and its requests are recorded with an unknown cost, never a made-up zero.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from stargate.config.deployment import Deployment, ModelInfo
from stargate.config.location import Loc, format_loc
from stargate.config.prices import PriceRow, PriceTable, load_price_table
from stargate.errors import ConfigError

__all__ = [
    "CACHE_READ_ABOVE_200K",
    "CACHE_WRITE_1H",
    "CACHE_WRITE_1H_ABOVE_200K",
    "CACHE_WRITE_ABOVE_200K",
    "EXTRA_PRICE_KEYS",
    "INPUT_ABOVE_200K",
    "OUTPUT_ABOVE_200K",
    "price_deployment",
    "price_deployments",
    "pricing_view",
]

CACHE_WRITE_1H = "cache_creation_input_token_cost_above_1hr"
INPUT_ABOVE_200K = "input_cost_per_token_above_200k_tokens"
OUTPUT_ABOVE_200K = "output_cost_per_token_above_200k_tokens"
CACHE_READ_ABOVE_200K = "cache_read_input_token_cost_above_200k_tokens"
CACHE_WRITE_ABOVE_200K = "cache_creation_input_token_cost_above_200k_tokens"
CACHE_WRITE_1H_ABOVE_200K = "cache_creation_input_token_cost_above_1hr_above_200k_tokens"
EXTRA_PRICE_KEYS = (
    CACHE_WRITE_1H,
    INPUT_ABOVE_200K,
    OUTPUT_ABOVE_200K,
    CACHE_READ_ABOVE_200K,
    CACHE_WRITE_ABOVE_200K,
    CACHE_WRITE_1H_ABOVE_200K,
)
_PER_1K = Decimal(1000)


def price_deployments(
    deployments: Sequence[Deployment],
    *,
    source: str,
    table: PriceTable | None = None,
    loc: Loc = ("model_list",),
) -> tuple[tuple[Deployment, ...], list[str]]:
    """Resolve the prices of every deployment (``deployments[i]`` sits at ``loc[i]``); return
    the priced deployments and one warning per unpriced one."""
    table = table if table is not None else load_price_table()
    priced: list[Deployment] = []
    warnings: list[str] = []
    for index, deployment in enumerate(deployments):
        resolved, warning = price_deployment(deployment, table, source=source, loc=(*loc, index))
        priced.append(resolved)
        if warning is not None:
            warnings.append(warning)
    return tuple(priced), warnings


def price_deployment(
    deployment: Deployment, table: PriceTable, *, source: str, loc: Loc = ()
) -> tuple[Deployment, str | None]:
    """One deployment with its prices resolved, and the warning when it stays unpriced."""
    info = deployment.info
    extra = _checked_extra(info.extra, source, (*loc, "model_info"))
    row = table.lookup(deployment.provider, deployment.model)
    if row is not None:
        info = _fill_from(info, row)
        for key, value in _row_extra(row).items():
            extra.setdefault(key, value)
    info = dataclasses.replace(info, extra=MappingProxyType(extra))
    resolved = dataclasses.replace(deployment, info=info)
    missing = [
        name
        for name, value in (
            ("input_cost_per_token", info.input_cost_per_token),
            ("output_cost_per_token", info.output_cost_per_token),
        )
        if value is None
    ]
    if not missing:
        return resolved, None
    where = f"{source}: {format_loc(loc)}" if loc else source
    return resolved, (
        f"{where}: UNPRICED MODEL: {deployment.provider} model {deployment.model!r} "
        f"(model_name {deployment.model_name!r}) has no {' or '.join(missing)} in model_info "
        "and no row in Stargate's price table; its requests are recorded with an unknown cost "
        "and reserve no budget. Set model_info.input_cost_per_token and output_cost_per_token "
        "(USD per token)."
    )


def pricing_view(info: ModelInfo) -> dict[str, float] | None:
    """The ``pricing`` object of a ``/v1/models`` entry (seed 004's shape: USD per 1K tokens,
    JSON numbers); ``None`` for an unpriced model."""
    if info.input_cost_per_token is None or info.output_cost_per_token is None:
        return None
    view = {
        "input_per_1k": float(info.input_cost_per_token * _PER_1K),
        "output_per_1k": float(info.output_cost_per_token * _PER_1K),
    }
    if info.cache_read_input_token_cost is not None:
        view["cache_read_per_1k"] = float(info.cache_read_input_token_cost * _PER_1K)
    if info.cache_creation_input_token_cost is not None:
        view["cache_write_per_1k"] = float(info.cache_creation_input_token_cost * _PER_1K)
    return view


def _fill_from(info: ModelInfo, row: PriceRow) -> ModelInfo:
    def pick(given: Decimal | None, listed: Decimal | None) -> Decimal | None:
        return given if given is not None else listed

    return dataclasses.replace(
        info,
        input_cost_per_token=pick(info.input_cost_per_token, row.input),
        output_cost_per_token=pick(info.output_cost_per_token, row.output),
        cache_read_input_token_cost=pick(info.cache_read_input_token_cost, row.cache_read),
        cache_creation_input_token_cost=pick(
            info.cache_creation_input_token_cost, row.cache_write_5m
        ),
    )


def _row_extra(row: PriceRow) -> dict[str, Decimal]:
    found: dict[str, Decimal | None] = {CACHE_WRITE_1H: row.cache_write_1h}
    if row.above_200k is not None:
        tier = row.above_200k
        found |= {
            INPUT_ABOVE_200K: tier.input,
            OUTPUT_ABOVE_200K: tier.output,
            CACHE_READ_ABOVE_200K: tier.cache_read,
            CACHE_WRITE_ABOVE_200K: tier.cache_write_5m,
            CACHE_WRITE_1H_ABOVE_200K: tier.cache_write_1h,
        }
    return {key: value for key, value in found.items() if value is not None}


def _checked_extra(extra: Mapping[str, Any], source: str, loc: Loc) -> dict[str, Any]:
    """``model_info.extra`` with the extra price keys turned into exact decimals (YAML gives
    decimals already; JSON from the admin API may give floats or strings)."""
    checked = dict(extra)
    for key in EXTRA_PRICE_KEYS:
        if key in checked:
            checked[key] = _decimal(checked[key], source, (*loc, key))
    return checked


def _decimal(value: Any, source: str, loc: Loc) -> Decimal:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise ConfigError(
            f"{value!r} is not a price (USD per token)", source=source, path=format_loc(loc)
        ) from exc
    if not number.is_finite() or number < 0:
        raise ConfigError(
            f"{value!r} is not a price (USD per token)", source=source, path=format_loc(loc)
        )
    return number
