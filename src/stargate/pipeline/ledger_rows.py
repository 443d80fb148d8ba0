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
    deployment_id: str | None = None
    model: str | None = None
    provider: str | None = None
    region: str | None = None
    if deployment is not None:
        deployment_id, model, provider = deployment.id, deployment.model, deployment.provider
        if aws_region := deployment.params.get("aws_region_name"):
            region = str(aws_region)
    if usage is not None:
        input_tokens, output_tokens = usage.input_tokens, usage.output_tokens
        read_tokens, write_tokens = usage.cache_read_tokens, usage.cache_write_tokens
        cost = outcome.cost_micro
    else:
        input_tokens = output_tokens = read_tokens = write_tokens = 0
        cost = 0
    ttft_s = outcome.ttft_s
    # Positional, in SpendRow's field order (on the request path: a call with 25 keywords
    # costs twice the time of the same call with positions).
    return SpendRow(
        outcome.request_id,  # request_id
        started,  # started_at
        started + timedelta(seconds=outcome.latency_s),  # ended_at
        outcome.requested_model,  # requested_model
        status,  # status
        principal.key_hash,  # key_hash
        principal.key_id,  # key_id
        principal.key_alias,  # key_alias
        principal.user_id,  # user_id
        principal.team_id,  # team_id
        None,  # end_user
        deployment_id,  # deployment_id
        model,  # model
        provider,  # provider
        region,  # region
        outcome.route,  # route
        input_tokens,  # input_tokens
        output_tokens,  # output_tokens
        read_tokens,  # cache_read_tokens
        write_tokens,  # cache_write_tokens
        cost,  # cost_micro
        int(outcome.latency_s * 1000),  # latency_ms
        int(ttft_s * 1000) if ttft_s is not None else None,  # ttft_ms
        outcome.error_class or None,  # error_type
        outcome.status,  # http_status
        outcome.stream,  # stream
    )
