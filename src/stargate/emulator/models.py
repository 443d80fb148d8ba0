"""The model ids the emulator knows, and how a requested id resolves to one of them.

A request names a model as a base id (``anthropic.claude-3-haiku-20240307-v1:0``), a system
inference profile (a geography prefix plus the base id: ``us.``, ``eu.``, ``apac.``, ``jp.``,
``au.``, ``us-gov.``, ``global.``), or an ARN of either (``arn:aws:bedrock:{region}::foundation-
model/{id}``, ``arn:aws:bedrock:{region}:{account}:inference-profile/{profile-id}``).

Like Bedrock, a profile-only model (every Claude 4.x, Nova Premier, Llama 3.3/4, Pixtral Large)
invoked by its base id is a 400 ValidationException about on-demand throughput, and an id or
profile the catalog does not list is a 400 "The provided model identifier is invalid.". Other
ARN kinds (application inference profiles, provisioned models, prompts, routers) are invalid too:
the emulator has nothing to resolve them to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from stargate.emulator.errors import (
    INVALID_MODEL_MESSAGE,
    BedrockError,
    on_demand_not_supported,
    validation_error,
)

__all__ = [
    "CATALOG",
    "GEO_PREFIXES",
    "ModelSpec",
    "ResolvedModel",
    "find_model",
    "is_base_model_id",
    "resolve_model",
]

GEO_PREFIXES = frozenset({"us", "eu", "apac", "jp", "au", "us-gov", "global"})
"""The geography prefixes of system cross-region inference profiles."""

MAX_MODEL_ID_LENGTH = 2048

_REGION_GEOS: tuple[tuple[str, frozenset[str]], ...] = (
    ("us-gov-", frozenset({"us-gov"})),
    ("us-", frozenset({"us"})),
    ("ca-", frozenset({"us"})),
    ("eu-", frozenset({"eu"})),
    ("ap-northeast-1", frozenset({"apac", "jp"})),
    ("ap-northeast-3", frozenset({"apac", "jp"})),
    ("ap-southeast-2", frozenset({"apac", "au"})),
    ("ap-southeast-4", frozenset({"apac", "au"})),
    ("ap-", frozenset({"apac"})),
)
"""Which geography profiles each region family may call (when a region is pinned)."""

_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:bedrock:(?P<region>[a-z0-9-]+):(?P<account>\d{12})?:"
    r"(?P<kind>[a-z-]+)/(?P<resource>.+)"
)


@dataclass(slots=True, frozen=True)
class ModelSpec:
    """One foundation model: its base id and what it can do on Bedrock."""

    model_id: str
    provider: str
    profiles: frozenset[str]
    on_demand: bool
    tool_use: bool = True
    prompt_caching: bool = False


@dataclass(slots=True, frozen=True)
class ResolvedModel:
    """A requested model id (URL-decoded) and the catalog entry it names."""

    requested: str
    spec: ModelSpec
    profile: str | None


def _claude(model_id: str, profiles: str, *, on_demand: bool = False) -> ModelSpec:
    return ModelSpec(
        model_id, "anthropic", frozenset(profiles.split()), on_demand, prompt_caching=True
    )


CATALOG: tuple[ModelSpec, ...] = (
    _claude("anthropic.claude-haiku-4-5-20251001-v1:0", "us eu apac jp au global"),
    _claude("anthropic.claude-sonnet-4-5-20250929-v1:0", "us eu apac jp au us-gov global"),
    _claude("anthropic.claude-opus-4-5-20251101-v1:0", "us eu global"),
    _claude("anthropic.claude-opus-4-1-20250805-v1:0", "us eu"),
    _claude("anthropic.claude-sonnet-4-20250514-v1:0", "us eu apac global"),
    _claude("anthropic.claude-sonnet-4-6", "us eu apac jp au global"),
    _claude("anthropic.claude-opus-4-6-v1", "us eu apac global"),
    _claude("anthropic.claude-3-5-haiku-20241022-v1:0", "us", on_demand=True),
    ModelSpec(
        "anthropic.claude-3-haiku-20240307-v1:0", "anthropic", frozenset({"us", "eu", "apac"}), True
    ),
    ModelSpec(
        "amazon.nova-micro-v1:0",
        "amazon",
        frozenset({"us", "eu", "apac"}),
        True,
        prompt_caching=True,
    ),
    ModelSpec(
        "amazon.nova-lite-v1:0",
        "amazon",
        frozenset({"us", "eu", "apac"}),
        True,
        prompt_caching=True,
    ),
    ModelSpec(
        "amazon.nova-pro-v1:0", "amazon", frozenset({"us", "eu", "apac"}), True, prompt_caching=True
    ),
    ModelSpec("amazon.nova-premier-v1:0", "amazon", frozenset({"us"}), False, prompt_caching=True),
    ModelSpec("meta.llama3-8b-instruct-v1:0", "meta", frozenset(), True, tool_use=False),
    ModelSpec("meta.llama3-70b-instruct-v1:0", "meta", frozenset(), True, tool_use=False),
    ModelSpec("meta.llama3-1-8b-instruct-v1:0", "meta", frozenset({"us"}), True),
    ModelSpec("meta.llama3-1-70b-instruct-v1:0", "meta", frozenset({"us"}), True),
    ModelSpec("meta.llama3-3-70b-instruct-v1:0", "meta", frozenset({"us"}), False),
    ModelSpec("meta.llama4-scout-17b-instruct-v1:0", "meta", frozenset({"us"}), False),
    ModelSpec("meta.llama4-maverick-17b-instruct-v1:0", "meta", frozenset({"us"}), False),
    ModelSpec("mistral.mistral-7b-instruct-v0:2", "mistral", frozenset(), True, tool_use=False),
    ModelSpec("mistral.mixtral-8x7b-instruct-v0:1", "mistral", frozenset(), True, tool_use=False),
    ModelSpec("mistral.mistral-small-2402-v1:0", "mistral", frozenset(), True),
    ModelSpec("mistral.mistral-large-2402-v1:0", "mistral", frozenset(), True),
    ModelSpec("mistral.mistral-large-2407-v1:0", "mistral", frozenset(), True),
    ModelSpec("mistral.pixtral-large-2502-v1:0", "mistral", frozenset({"us", "eu"}), False),
)
"""Every model the emulator answers for."""

_BY_ID: Mapping[str, ModelSpec] = MappingProxyType({spec.model_id: spec for spec in CATALOG})


def find_model(base_id: str) -> ModelSpec | None:
    """The catalog entry with base id ``base_id``, if there is one."""
    return _BY_ID.get(base_id)


def is_base_model_id(model_id: str) -> bool:
    """Whether ``model_id`` is a plain base id (not an ARN, not an inference profile id)."""
    return not model_id.startswith("arn:") and model_id.partition(".")[0] not in GEO_PREFIXES


def _invalid() -> BedrockError:
    return validation_error(INVALID_MODEL_MESSAGE)


def _resolve_base(requested: str, base_id: str) -> ResolvedModel:
    spec = _BY_ID.get(base_id)
    if spec is None:
        raise _invalid()
    if not spec.on_demand:
        raise on_demand_not_supported(base_id)
    return ResolvedModel(requested, spec, None)


def _geos_of_region(region: str) -> frozenset[str]:
    """The profile geographies callable from ``region`` (``global`` from anywhere)."""
    for prefix, geos in _REGION_GEOS:
        if region.startswith(prefix):
            return geos | {"global"}
    return frozenset({"global"})


def _resolve_profile(requested: str, profile_id: str, region: str | None) -> ResolvedModel:
    geo, _, base_id = profile_id.partition(".")
    spec = _BY_ID.get(base_id)
    if geo not in GEO_PREFIXES or spec is None or geo not in spec.profiles:
        raise _invalid()
    if region is not None and geo not in _geos_of_region(region):
        raise _invalid()
    return ResolvedModel(requested, spec, geo)


def resolve_model(model_id: str, *, region: str | None = None) -> ResolvedModel:
    """Resolve a URL-decoded model id, or raise Bedrock's 400 for it.

    ``region``, when given, is the emulated region: ARNs naming another region, and profiles of
    another geography (``eu.`` from ``us-east-1``; ``global.`` works everywhere), are invalid.
    """
    if not model_id or len(model_id) > MAX_MODEL_ID_LENGTH:
        raise _invalid()
    if model_id.startswith("arn:"):
        match = _ARN.fullmatch(model_id)
        if match is None or (region is not None and match["region"] != region):
            raise _invalid()
        kind, resource, account = match["kind"], match["resource"], match["account"]
        if kind == "foundation-model" and account is None:
            return _resolve_base(model_id, resource)
        if kind == "inference-profile" and account is not None:
            return _resolve_profile(model_id, resource, region)
        raise _invalid()
    if model_id.partition(".")[0] in GEO_PREFIXES:
        return _resolve_profile(model_id, model_id, region)
    return _resolve_base(model_id, model_id)
