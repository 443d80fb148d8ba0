"""A resolved deployment: one ``model_list`` entry after validation and ``os.environ/`` lookup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["Deployment", "ModelInfo"]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """``model_info`` of a deployment. Prices are USD per token, as LiteLLM writes them, kept as
    exact decimals (converted from the YAML text, never through a float)."""

    id: str | None = None
    input_cost_per_token: Decimal | None = None
    output_cost_per_token: Decimal | None = None
    cache_read_input_token_cost: Decimal | None = None
    cache_creation_input_token_cost: Decimal | None = None
    max_tokens: int | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    description: str | None = None
    # Names that keys and teams may list in ``models`` to reach every deployment in the group.
    access_groups: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Deployment:
    """One upstream model a logical name can route to.

    ``provider`` is the prefix of ``litellm_params.model`` (``bedrock``); ``model`` is what
    follows it, less any route marker (``converse/`` or ``invoke/``), which lands in ``api``
    (``"converse"``, ``"invoke"``, or ``"auto"`` when none was given). ``params`` holds the
    remaining ``litellm_params`` with every ``os.environ/NAME`` already resolved (for Bedrock:
    ``aws_region_name``, ``aws_bedrock_runtime_endpoint``, ``aws_access_key_id``,
    ``aws_secret_access_key``, ``aws_session_token``, ``aws_profile_name``, ``timeout``,
    ``stream_timeout``, ...).
    """

    id: str
    model_name: str
    provider: str
    model: str
    api: str = "auto"
    params: Mapping[str, Any] = field(default_factory=dict)
    info: ModelInfo = field(default_factory=ModelInfo)
