"""Where a deployment's Bedrock calls go: region and runtime URL.

The model id is percent-encoded whole (``quote(model_id, safe="")``, as boto3 does), so ``:`` in
``...-v1:0`` becomes ``%3A`` and an ARN's ``/`` becomes ``%2F``. SigV4 signs the path exactly as
written, so the URL must reach the wire unchanged: the provider sends
:meth:`BedrockEndpoint.url_text` through :mod:`stargate.providers.http1`, which writes the target
as given (a client that normalised it would send ``:`` and the signature would no longer match;
reference/bedrock.md §6.4). :meth:`BedrockEndpoint.url` is the same as a ``yarl.URL`` built with
``encoded=True``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit

import yarl

from stargate.config.deployment import Deployment
from stargate.errors import ConfigError

__all__ = [
    "ENDPOINT_ENV",
    "BedrockEndpoint",
    "Operation",
    "default_runtime_url",
    "resolve_endpoint",
    "resolve_region",
]

ENDPOINT_ENV = "AWS_BEDROCK_RUNTIME_ENDPOINT"
_REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")

Operation = Literal[
    "converse", "converse-stream", "invoke", "invoke-with-response-stream", "count-tokens"
]


@dataclass(slots=True, frozen=True)
class BedrockEndpoint:
    base_url: str  # scheme://host[:port][/prefix], no trailing slash
    region: str  # the SigV4 signing region

    def url_text(self, model_id: str, operation: Operation) -> str:
        return f"{self.base_url}/model/{_quoted(model_id)}/{operation}"

    def url(self, model_id: str, operation: Operation) -> yarl.URL:
        return yarl.URL(self.url_text(model_id, operation), encoded=True)


@functools.lru_cache(maxsize=256)
def _quoted(model_id: str) -> str:
    """The model id as the URL carries it (quoted per request, it cost a Python call per byte;
    a gateway calls a few model ids)."""
    return quote(model_id, safe="")


def default_runtime_url(region: str) -> str:
    return f"https://bedrock-runtime.{region}.amazonaws.com"


def resolve_region(deployment: Deployment, environ: Mapping[str, str]) -> str:
    """``aws_region_name``, else the region of an ARN model id, else ``AWS_REGION`` /
    ``AWS_DEFAULT_REGION``; with none of these the deployment is misconfigured."""
    region = _text_param(deployment, "aws_region_name")
    if region:
        return region
    if deployment.model.startswith("arn:"):
        fields = deployment.model.split(":")
        if len(fields) > 3 and fields[3]:
            return fields[3]
    for name in _REGION_ENVS:
        if environ.get(name):
            return environ[name]
    raise ConfigError(
        "no AWS region: set aws_region_name (or AWS_REGION in the environment)",
        source=f"deployment {deployment.id}",
    )


def resolve_endpoint(deployment: Deployment, environ: Mapping[str, str]) -> BedrockEndpoint:
    """``aws_bedrock_runtime_endpoint``, else ``AWS_BEDROCK_RUNTIME_ENDPOINT``, else the public
    regional endpoint."""
    region = resolve_region(deployment, environ)
    base = _text_param(deployment, "aws_bedrock_runtime_endpoint") or environ.get(ENDPOINT_ENV)
    if not base:
        return BedrockEndpoint(default_runtime_url(region), region)
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigError(
            f"the Bedrock runtime endpoint {base!r} is not an http(s) URL without a query",
            source=f"deployment {deployment.id}",
        )
    return BedrockEndpoint(base.rstrip("/"), region)


def _text_param(deployment: Deployment, name: str) -> str | None:
    value = deployment.params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string", source=f"deployment {deployment.id}")
    return value.strip()
