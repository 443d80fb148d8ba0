"""Every metric the gateway exports, defined once, under LiteLLM's names and label sets.

A :class:`Metrics` instance owns its own registry (no process globals), so tests and several
gateways in one process never collide.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "RequestLabels"]

# LiteLLM's latency buckets: 5 ms to 600 s.
_LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0,
    60.0, 120.0, 300.0, 600.0,
)  # fmt: skip

_PRINCIPAL = ["end_user", "hashed_api_key", "api_key_alias", "team", "team_alias", "user"]


@dataclass(slots=True, frozen=True)
class RequestLabels:
    """Who asked for what; the label values every per-request metric shares."""

    requested_model: str
    model: str = ""
    model_id: str = ""
    hashed_api_key: str = ""
    api_key_alias: str = ""
    team: str = ""
    team_alias: str = ""
    user: str = ""
    user_email: str = ""
    end_user: str = ""
    route: str = ""
    api_provider: str = ""


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.requests = Counter(
            "litellm_proxy_total_requests_metric",
            "Requests made to the proxy, by status code",
            [*_PRINCIPAL, "requested_model", "user_email", "status_code", "route", "model_id"],
            registry=r,
        )
        self.failed = Counter(
            "litellm_proxy_failed_requests_metric",
            "Requests that failed, by exception status and class",
            [
                *_PRINCIPAL,
                "requested_model",
                "user_email",
                "exception_status",
                "exception_class",
                "route",
                "model_id",
            ],
            registry=r,
        )
        token_labels = [*_PRINCIPAL, "model", "user_email", "requested_model", "model_id"]
        self.total_tokens = Counter(
            "litellm_total_tokens_metric", "Input + output tokens", token_labels, registry=r
        )
        self.input_tokens = Counter(
            "litellm_input_tokens_metric", "Input tokens", token_labels, registry=r
        )
        self.output_tokens = Counter(
            "litellm_output_tokens_metric", "Output tokens", token_labels, registry=r
        )
        latency_labels = [*_PRINCIPAL, "model", "requested_model", "model_id"]
        self.total_latency = Histogram(
            "litellm_request_total_latency_metric",
            "Whole request latency in seconds, as the caller saw it",
            latency_labels,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.api_latency = Histogram(
            "litellm_llm_api_latency_metric",
            "Upstream call latency in seconds",
            latency_labels,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "litellm_in_flight_requests", "Requests being served now", registry=r
        )

    def record_success(
        self,
        labels: RequestLabels,
        *,
        input_tokens: int,
        output_tokens: int,
        total_seconds: float,
        upstream_seconds: float,
    ) -> None:
        p = (
            labels.end_user,
            labels.hashed_api_key,
            labels.api_key_alias,
            labels.team,
            labels.team_alias,
            labels.user,
        )
        self.requests.labels(
            *p, labels.requested_model, labels.user_email, "200", labels.route, labels.model_id
        ).inc()
        tok = (*p, labels.model, labels.user_email, labels.requested_model, labels.model_id)
        self.input_tokens.labels(*tok).inc(input_tokens)
        self.output_tokens.labels(*tok).inc(output_tokens)
        self.total_tokens.labels(*tok).inc(input_tokens + output_tokens)
        lat = (*p, labels.model, labels.requested_model, labels.model_id)
        self.total_latency.labels(*lat).observe(total_seconds)
        self.api_latency.labels(*lat).observe(upstream_seconds)

    def record_failure(self, labels: RequestLabels, *, status: int, exception_class: str) -> None:
        p = (
            labels.end_user,
            labels.hashed_api_key,
            labels.api_key_alias,
            labels.team,
            labels.team_alias,
            labels.user,
        )
        self.requests.labels(
            *p, labels.requested_model, labels.user_email, str(status), labels.route,
            labels.model_id,
        ).inc()  # fmt: skip
        self.failed.labels(
            *p, labels.requested_model, labels.user_email, str(status), exception_class,
            labels.route, labels.model_id,
        ).inc()  # fmt: skip

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
