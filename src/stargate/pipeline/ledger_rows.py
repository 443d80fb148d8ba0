"""A request's outcome as a ledger row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stargate.pipeline.records import Outcome
from stargate.store.ledger_rows import SpendRow, SpendStatus

__all__ = ["spend_row"]


def spend_row(outcome: Outcome) -> SpendRow:
    started = datetime.fromtimestamp(outcome.started_at, UTC)
    principal, deployment, usage = outcome.principal, outcome.deployment, outcome.usage
    status: SpendStatus = "success"
    if outcome.status == 499:
        status = "cancelled"
    elif outcome.status != 200:
        status = "error"
    region = deployment.params.get("aws_region_name") if deployment else None
    return SpendRow(
        request_id=outcome.request_id,
        started_at=started,
        ended_at=started + timedelta(seconds=outcome.latency_s),
        requested_model=outcome.requested_model,
        status=status,
        key_hash=principal.key_hash,
        key_id=principal.key_id,
        key_alias=principal.key_alias,
        user_id=principal.user_id,
        team_id=principal.team_id,
        deployment_id=deployment.id if deployment else None,
        model=deployment.model if deployment else None,
        provider=deployment.provider if deployment else None,
        region=str(region) if region else None,
        route=outcome.route,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        cache_read_tokens=usage.cache_read_tokens if usage else 0,
        cache_write_tokens=usage.cache_write_tokens if usage else 0,
        cost_micro=outcome.cost_micro if usage else 0,
        latency_ms=int(outcome.latency_s * 1000),
        ttft_ms=int(outcome.ttft_s * 1000) if outcome.ttft_s is not None else None,
        error_type=outcome.error_class or None,
        http_status=outcome.status,
        stream=outcome.stream,
    )
