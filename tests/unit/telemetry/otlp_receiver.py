"""A local OTLP/HTTP trace receiver (aiohttp) that decodes ``ExportTraceServiceRequest``s, for
the tests: in the test's event loop (:func:`receiver`) or on a thread of its own
(:func:`threaded_receiver`, for tests that drive processes)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

__all__ = ["Export", "ReceivedSpan", "Receiver", "receiver", "threaded_receiver"]


@dataclass
class ReceivedSpan:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    status_code: int
    service_name: str


@dataclass
class Export:
    path: str
    headers: dict[str, str]
    body: bytes
    spans: list[ReceivedSpan]


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def decode(body: bytes) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        name=span.name,
                        kind=span.kind,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        status_code=span.status.code,
                        service_name=str(resource.get("service.name", "")),
                    )
                )
    return spans


@dataclass
class Receiver:
    url: str = ""
    exports: list[Export] = field(default_factory=list)
    status: int = 200  # what to answer

    @property
    def spans(self) -> list[ReceivedSpan]:
        return [span for export in self.exports for span in export.spans]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.exports.append(
            Export(request.path, {k.lower(): v for k, v in request.headers.items()}, body,
                   decode(body))
        )  # fmt: skip
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            status=self.status,
            content_type="application/x-protobuf",
        )


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def threaded_receiver() -> Iterator[Receiver]:
    """The receiver on a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    holder: list[Receiver] = []

    async def main() -> None:
        async with receiver() as state:
            holder.append(state)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the OTLP receiver did not start"
    try:
        yield holder[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
