"""Telemetry: metrics, traces, structured logs."""

from stargate.telemetry.metrics import CONTENT_TYPE_LATEST, Metrics, RequestLabels

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "RequestLabels"]
