"""Traces of real requests: one per request at a local OTLP receiver, and at a fake Langfuse."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx2 as httpx

from tests.e2e.admin_client import admin, new_key
from tests.e2e.processes import Emulator, run_gateway
from tests.unit.telemetry.otlp_receiver import threaded_receiver


def test_one_trace_per_request_with_genai_attributes_tokens_and_cost(
    emulator: Emulator, tmp_path: Path
) -> None:
    with threaded_receiver() as collector, threaded_receiver() as langfuse:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "LANGFUSE_HOST": langfuse.url,
            "LANGFUSE_PUBLIC_KEY": "pk-lf-test",
            "LANGFUSE_SECRET_KEY": "sk-lf-secret",
        }
        with run_gateway(emulator.url, tmp_path, **env) as gateway:
            team = admin(gateway, "/team/new", {"team_alias": "tracing-team"})
            key = new_key(gateway, key_alias="traced-key", team_id=team["team_id"])
            answers = []
            for i in range(3):
                body = {"model": "claude-haiku-4-5", "max_tokens": 40,
                        "messages": [{"role": "user", "content": f"trace me {i}"}]}  # fmt: skip
                response = httpx.post(gateway.url + "/v1/chat/completions", json=body,
                                      headers={"x-api-key": key}, timeout=30)  # fmt: skip
                assert response.status_code == 200
                answers.append(response)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                servers = [s for s in collector.spans if s.kind == 2]  # SPAN_KIND_SERVER
                if len(servers) >= 3 and len(langfuse.spans) >= 6:
                    break
                time.sleep(0.1)

    servers = [s for s in collector.spans if s.kind == 2]
    assert len(servers) == 3
    assert len({s.trace_id for s in servers}) == 3, "one trace per request"
    by_request = {s.attributes["stargate.request_id"]: s for s in servers}
    for response in answers:
        span = by_request[response.headers["x-request-id"]]
        usage = response.json()["usage"]
        attrs = span.attributes
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.request.model"] == "claude-haiku-4-5"
        assert attrs["gen_ai.response.model"] == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
        assert attrs["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
        assert attrs["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
        assert attrs["stargate.cost.micro_usd"] == int(response.headers["x-stargate-cost-micro"])
        assert attrs["stargate.key_alias"] == "traced-key"
        assert attrs["stargate.team_alias"] == "tracing-team"
        attempts = [s for s in collector.spans if s.trace_id == span.trace_id and s.kind == 3]
        assert len(attempts) == 1  # SPAN_KIND_CLIENT: the upstream attempt
    exported = str([s.attributes for s in collector.spans])
    assert key not in exported
    assert "sk-lf-secret" not in exported

    expected = "Basic " + base64.b64encode(b"pk-lf-test:sk-lf-secret").decode()
    assert langfuse.exports
    for export in langfuse.exports:
        assert export.path == "/api/public/otel/v1/traces"
        assert export.headers["authorization"] == expected
