"""One validated ``model_list`` entry → a resolved :class:`Deployment`.

LiteLLM spellings are folded into one name each, so providers read a single key:
``api_base`` → ``aws_bedrock_runtime_endpoint`` and ``api_key`` → ``aws_bedrock_api_key``
(a Bedrock API key). As LiteLLM does, an entry without an endpoint takes
``AWS_BEDROCK_RUNTIME_ENDPOINT``, and one without a region takes the region of its ARN model id,
else ``AWS_REGION_NAME``, ``AWS_REGION`` or ``AWS_DEFAULT_REGION`` from the lookup (environment
first, then the file's ``environment_variables``). Prices may sit in ``litellm_params``
(LiteLLM's custom pricing) or in ``model_info``; they end up in :class:`ModelInfo`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from stargate.config.deployment import Deployment, ModelInfo
from stargate.config.location import Loc, Locator
from stargate.config.model_ref import InvalidModelRef, parse_model_ref
from stargate.config.schema import ModelEntry

__all__ = ["ENDPOINT_ENV", "REGION_ENVS", "build_deployment", "generated_id"]

ENDPOINT_ENV = "AWS_BEDROCK_RUNTIME_ENDPOINT"
REGION_ENVS = ("AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION")
_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}")
# Keys consumed here rather than passed on in ``Deployment.params``.
_CONSUMED = frozenset(
    {
        "model",
        "custom_llm_provider",
        "api_base",
        "api_key",
        "aws_bedrock_runtime_endpoint",
        "aws_bedrock_api_key",
        "aws_region_name",
        "input_cost_per_token",
        "output_cost_per_token",
    }
)


def generated_id(model_name: str, index: int) -> str:
    """The id of an entry that has no ``model_info.id``: stable for a name at a position."""
    return hashlib.sha256(f"{model_name}\n{index}".encode()).hexdigest()[:16]


def build_deployment(
    entry: ModelEntry, index: int, loc: Loc, lookup: Mapping[str, str], locator: Locator
) -> tuple[Deployment, list[str]]:
    """Resolve one entry; errors name ``loc`` plus the offending field."""
    p = entry.litellm_params
    at: Loc = (*loc, "litellm_params")
    try:
        ref = parse_model_ref(p.model, p.custom_llm_provider)
    except InvalidModelRef as exc:
        raise locator.error((*at, "model"), str(exc)) from exc
    warnings = [locator.warning((*at, "model"), ref.note)] if ref.note else []

    params: dict[str, Any] = {
        k: v for k, v in p.model_dump(exclude_none=True).items() if k not in _CONSUMED
    }
    endpoint = _one_of(
        p.aws_bedrock_runtime_endpoint,
        p.api_base,
        at,
        "aws_bedrock_runtime_endpoint",
        "api_base",
        locator,
    )
    endpoint_loc: Loc = (*at, "aws_bedrock_runtime_endpoint")
    if endpoint is not None:
        params["aws_bedrock_runtime_endpoint"] = _endpoint(endpoint, None, endpoint_loc, locator)
    elif lookup.get(ENDPOINT_ENV):
        params["aws_bedrock_runtime_endpoint"] = _endpoint(
            lookup[ENDPOINT_ENV], ENDPOINT_ENV, endpoint_loc, locator
        )
    api_key = _one_of(
        p.aws_bedrock_api_key, p.api_key, at, "aws_bedrock_api_key", "api_key", locator
    )
    if api_key is not None:
        params["aws_bedrock_api_key"] = api_key
    region = _region(p.aws_region_name, ref.model, at, lookup, locator)
    if region is not None:
        params["aws_region_name"] = region
    if bool(p.aws_access_key_id) != bool(p.aws_secret_access_key):
        raise locator.error(
            at, "aws_access_key_id and aws_secret_access_key must be given together"
        )
    if p.aws_session_token and not p.aws_access_key_id:
        raise locator.error(
            (*at, "aws_session_token"), "needs aws_access_key_id and aws_secret_access_key"
        )

    info = entry.model_info
    deployment_id = info.id or generated_id(entry.model_name, index)
    model_info = ModelInfo(
        id=deployment_id,
        input_cost_per_token=_price(
            info.input_cost_per_token, p.input_cost_per_token, loc, "input_cost_per_token", locator
        ),
        output_cost_per_token=_price(
            info.output_cost_per_token,
            p.output_cost_per_token,
            loc,
            "output_cost_per_token",
            locator,
        ),
        cache_read_input_token_cost=info.cache_read_input_token_cost,
        cache_creation_input_token_cost=info.cache_creation_input_token_cost,
        max_tokens=info.max_tokens,
        max_input_tokens=info.max_input_tokens,
        max_output_tokens=info.max_output_tokens,
        description=info.description,
        access_groups=tuple(info.access_groups),
        extra=MappingProxyType(dict(info.model_extra or {})),
    )
    deployment = Deployment(
        id=deployment_id,
        model_name=entry.model_name,
        provider=ref.provider,
        model=ref.model,
        api=ref.api,
        params=MappingProxyType(params),
        info=model_info,
    )
    return deployment, warnings


def _one_of(
    preferred: str | None, alias: str | None, at: Loc, name: str, alias_name: str, locator: Locator
) -> str | None:
    if preferred is not None and alias is not None and preferred != alias:
        raise locator.error((*at, alias_name), f"conflicts with {name}; give one of the two")
    return preferred if preferred is not None else alias


def _endpoint(url: str, env_name: str | None, loc: Loc, locator: Locator) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        origin = f"not set, and {env_name}={url!r}" if env_name else f"{url!r}"
        raise locator.error(loc, f"{origin} is not an http(s) URL without query or fragment")
    return url.strip().rstrip("/")


def _region(
    given: str | None, model: str, at: Loc, lookup: Mapping[str, str], locator: Locator
) -> str | None:
    region, origin = given, repr(given)
    arn_fields = model.split(":") if model.startswith("arn:") else []
    if region is None and len(arn_fields) > 3 and arn_fields[3]:
        region, origin = arn_fields[3], f"not set, and the ARN's region {arn_fields[3]!r}"
    if region is None:
        for name in REGION_ENVS:
            if lookup.get(name):
                region, origin = lookup[name], f"not set, and {name}={lookup[name]!r}"
                break
    if region is not None and not _REGION.fullmatch(region.strip()):
        raise locator.error(
            (*at, "aws_region_name"), f"{origin} is not an AWS region name (e.g. us-east-1)"
        )
    return region.strip() if region is not None else None


def _price(
    in_info: Decimal | None, in_params: Decimal | None, loc: Loc, name: str, locator: Locator
) -> Decimal | None:
    if in_info is not None and in_params is not None and in_info != in_params:
        raise locator.error(
            (*loc, "litellm_params", name), f"differs from model_info.{name}; set the price once"
        )
    return in_info if in_info is not None else in_params
