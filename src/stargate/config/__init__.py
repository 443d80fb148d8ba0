"""Configuration: a LiteLLM-compatible ``config.yaml`` (or the embedded defaults) plus the
environment, validated strictly and resolved into a :class:`GatewayConfig`."""

from stargate.config.deployment import Deployment, ModelInfo
from stargate.config.gateway import GatewayConfig
from stargate.config.loader import check_config, load_config, load_deployment

__all__ = [
    "Deployment",
    "GatewayConfig",
    "ModelInfo",
    "check_config",
    "load_config",
    "load_deployment",
]
