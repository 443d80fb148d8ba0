"""OTLP/HTTP (protobuf) span export to one destination, with its own headers and a hard deadline.

Why not ``OTLPSpanExporter``: it merges ``OTEL_EXPORTER_OTLP_HEADERS`` from the process
environment into *every* exporter, so a collector's API key would also be sent to Langfuse, and
it retries with back-off sleeps. This exporter sends exactly the headers of its
:class:`~stargate.telemetry.tracing_config.Destination`, makes one attempt per batch within
``timeout_s``, and drops the batch on failure. It runs on the batch processor's thread, never on
the event loop.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from stargate.telemetry.tracing_config import Destination

__all__ = ["OtlpHttpExporter"]

log = logging.getLogger("stargate.tracing")

_WARN_EVERY_S = 60.0


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class OtlpHttpExporter(SpanExporter):
    def __init__(
        self,
        destination: Destination,
        *,
        timeout_s: float,
        compress: bool = False,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._destination = destination
        self._timeout = timeout_s
        self._compress = compress
        self._on_failure = on_failure
        self._shutdown = False
        self._last_warning = -_WARN_EVERY_S
        self._failed_since_warning = 0
        self.exported = 0
        self.failed = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        body = encode_spans(spans).SerializeToString()
        headers = {"content-type": "application/x-protobuf", **self._destination.headers}
        if self._compress:
            body = gzip.compress(body)
            headers["content-encoding"] = "gzip"
        request = urllib.request.Request(  # noqa: S310 - the operator's configured endpoint
            self._destination.endpoint, data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                response.read()
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()
            self._failed(len(spans), exc)
            return SpanExportResult.FAILURE
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def _failed(self, count: int, exc: Exception) -> None:
        self.failed += count
        self._failed_since_warning += count
        if self._on_failure is not None:
            self._on_failure(self._destination.name)
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_S:
            reason = exc.code if isinstance(exc, urllib.error.HTTPError) else type(exc).__name__
            log.warning(
                "trace export to %s (%s) failed: %s; %d spans dropped",
                self._destination.name,
                _redacted(self._destination.endpoint),
                reason,
                self._failed_since_warning,
            )
            self._last_warning = now
            self._failed_since_warning = 0

    def shutdown(self) -> None:
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
