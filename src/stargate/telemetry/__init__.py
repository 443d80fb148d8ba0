"""Telemetry: metrics, traces, structured logs."""

from stargate.telemetry.metric_labels import (
    BudgetOwner,
    DeploymentLabels,
    DeploymentState,
    RequestLabels,
)
from stargate.telemetry.metrics import CONTENT_TYPE_LATEST, Metrics

__all__ = [
    "CONTENT_TYPE_LATEST",
    "BudgetOwner",
    "DeploymentLabels",
    "DeploymentState",
    "Metrics",
    "RequestLabels",
]
