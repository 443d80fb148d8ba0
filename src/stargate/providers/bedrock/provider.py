"""The Bedrock provider: Converse and ConverseStream over a shared aiohttp session.

Per deployment params (all optional): ``timeout`` (seconds, the whole non-stream call; default
600), ``stream_timeout`` (seconds of silence allowed between stream chunks, and before the first
one; default 120, or ``timeout`` when that is smaller), ``connect_timeout`` (seconds to open a
connection; default 10). A request without ``max_tokens`` gets ``model_info.max_tokens``, else
``model_info.max_output_tokens``, else 4096.

Failures, all from :mod:`stargate.errors`: an HTTP error → the Bedrock error table
(:mod:`.errors`); no connection → :class:`UpstreamUnavailable`; a timeout →
:class:`UpstreamTimeout`; an unreadable answer, a corrupt frame or a stream that ends before
``messageStop`` and ``metadata`` → :class:`UpstreamBadResponse`; an exception frame mid-stream →
its mapped error, raised from the iterator.

Cancellation: when the consumer of :meth:`BedrockProvider.stream` stops (``aclose()`` on the
iterator, or its task is cancelled) the upstream response is closed at once, and the connection
with it, so Bedrock sees the client go away. :meth:`BedrockProvider.aclose` closes any stream
still open.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, Iterator, Mapping
from dataclasses import dataclass

import aiohttp
import orjson
import yarl

from stargate.config.deployment import Deployment
from stargate.core import ChatRequest, ChatResponse, StreamEvent
from stargate.errors import (
    ConfigError,
    InvalidRequest,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from stargate.providers.base import CallContext
from stargate.providers.bedrock.converse_request import render_converse_request
from stargate.providers.bedrock.converse_response import message_id, parse_converse_response
from stargate.providers.bedrock.converse_stream import ConverseStreamState
from stargate.providers.bedrock.endpoint import BedrockEndpoint, Operation, resolve_endpoint
from stargate.providers.bedrock.errors import code_from_response, map_bedrock_error
from stargate.providers.bedrock.eventstream import Frame, FrameDecoder, decode_payload
from stargate.providers.bedrock.signing import BedrockCredentials, authorize

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_SECONDS",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_STREAM_IDLE_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "BedrockProvider",
    "BedrockTimeouts",
]

DEFAULT_MAX_TOKENS = 4096
DEFAULT_TIMEOUT_SECONDS = 600.0
DEFAULT_STREAM_IDLE_SECONDS = 120.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0

_REQUEST_ID_HEADER = "x-amzn-RequestId"
_JSON = "application/json"
_EVENT_STREAM = "application/vnd.amazon.eventstream"
# Headers a caller-supplied forward header may never set: they carry or shape the signature.
_RESERVED_HEADERS = frozenset(
    {"authorization", "host", "content-type", "content-length", "accept", "transfer-encoding"}
)


@dataclass(slots=True, frozen=True)
class BedrockTimeouts:
    total: float  # the whole non-stream call
    stream_idle: float  # silence allowed between stream chunks
    connect: float

    @classmethod
    def from_params(cls, deployment: Deployment) -> BedrockTimeouts:
        total = _seconds(deployment, "timeout")
        idle = _seconds(deployment, "stream_timeout")
        connect = _seconds(deployment, "connect_timeout")
        if idle is None:
            idle = min(DEFAULT_STREAM_IDLE_SECONDS, total or DEFAULT_STREAM_IDLE_SECONDS)
        return cls(
            total=total or DEFAULT_TIMEOUT_SECONDS,
            stream_idle=idle,
            connect=connect or DEFAULT_CONNECT_TIMEOUT_SECONDS,
        )


class BedrockProvider:
    """Serves one Bedrock deployment. Owns neither the session nor the credentials: the
    provider set that built it closes those."""

    def __init__(
        self,
        deployment: Deployment,
        session: aiohttp.ClientSession,
        credentials: BedrockCredentials,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if deployment.api == "invoke":
            raise ConfigError(
                "the Bedrock provider speaks Converse; the invoke/ route is not supported",
                source=f"deployment {deployment.id}",
            )
        self._deployment = deployment
        self._session = session
        self._credentials = credentials
        self._endpoint = resolve_endpoint(deployment, os.environ if environ is None else environ)
        self._timeouts = BedrockTimeouts.from_params(deployment)
        info = deployment.info
        self._default_max_tokens = info.max_tokens or info.max_output_tokens or DEFAULT_MAX_TOKENS
        self._open_streams: set[aiohttp.ClientResponse] = set()

    def __repr__(self) -> str:
        return f"BedrockProvider({self._deployment.id!r}, model={self._deployment.model!r})"

    @property
    def deployment(self) -> Deployment:
        return self._deployment

    @property
    def credentials(self) -> BedrockCredentials:
        return self._credentials

    @property
    def endpoint(self) -> BedrockEndpoint:
        return self._endpoint

    @property
    def timeouts(self) -> BedrockTimeouts:
        return self._timeouts

    @property
    def default_max_tokens(self) -> int:
        return self._default_max_tokens

    async def complete(self, request: ChatRequest, call: CallContext) -> ChatResponse:
        timeout = aiohttp.ClientTimeout(
            total=self._timeouts.total, sock_connect=self._timeouts.connect
        )
        url, body, headers = await self._prepare(request, call, "converse", _JSON)
        with self._transport_errors():
            async with self._session.post(
                url, data=body, headers=headers, timeout=timeout
            ) as response:
                raw = await response.read()
                status, response_headers = response.status, response.headers
        if status != 200:
            raise self._http_error(status, response_headers, raw)
        request_id = response_headers.get(_REQUEST_ID_HEADER)
        return parse_converse_response(
            _json_body(raw), model=self._deployment.model, upstream_request_id=request_id
        )

    async def stream(
        self, request: ChatRequest, call: CallContext
    ) -> AsyncGenerator[StreamEvent, None]:
        # No total deadline (a long answer may stream for many minutes); waiting for a pooled
        # connection is bounded like silence is.
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=self._timeouts.stream_idle,
            sock_connect=self._timeouts.connect,
            sock_read=self._timeouts.stream_idle,
        )
        url, body, headers = await self._prepare(request, call, "converse-stream", _EVENT_STREAM)
        with self._transport_errors():
            response = await self._session.post(url, data=body, headers=headers, timeout=timeout)
        self._open_streams.add(response)
        finished = False
        try:
            if response.status != 200:
                with self._transport_errors():
                    raw = await response.read()
                finished = True
                raise self._http_error(response.status, response.headers, raw)
            request_id = response.headers.get(_REQUEST_ID_HEADER)
            state = ConverseStreamState(message_id(request_id), self._deployment.model, request_id)
            decoder = FrameDecoder()
            while chunk := await self._read_chunk(response):
                for frame in decoder.feed(chunk):
                    for event in self._on_frame(state, frame):
                        yield event
            state.finish()
            finished = True
        finally:
            self._open_streams.discard(response)
            if finished:
                response.release()
            else:
                response.close()

    async def aclose(self) -> None:
        """Close every stream still open (the session and credentials belong to the set)."""
        streams, self._open_streams = self._open_streams, set()
        for response in streams:
            response.close()

    async def _prepare(
        self, request: ChatRequest, call: CallContext, operation: Operation, accept: str
    ) -> tuple[yarl.URL, bytes, dict[str, str]]:
        payload = render_converse_request(request, default_max_tokens=self._default_max_tokens)
        try:
            body = orjson.dumps(payload)
        except orjson.JSONEncodeError as exc:
            raise InvalidRequest(f"the request cannot be encoded as JSON: {exc}") from exc
        model_id = self._deployment.model
        headers = await authorize(
            self._credentials,
            region=self._endpoint.region,
            url=self._endpoint.url_text(model_id, operation),
            body=body,
            headers={"Content-Type": _JSON, "Accept": accept},
        )
        for name, value in call.forward_headers.items():
            lowered = name.lower()
            if lowered not in _RESERVED_HEADERS and not lowered.startswith("x-amz-"):
                headers[name] = value
        return self._endpoint.url(model_id, operation), body, headers

    async def _read_chunk(self, response: aiohttp.ClientResponse) -> bytes:
        with self._transport_errors():
            return await response.content.readany()

    def _on_frame(self, state: ConverseStreamState, frame: Frame) -> list[StreamEvent]:
        match frame.message_type:
            case "event":
                return state.feed(frame.name, decode_payload(frame))
            case "exception":
                message = decode_payload(frame).get("message")
                raise self._error(frame.name, message if isinstance(message, str) else None)
            case "error":
                raise self._error(frame.name or None, frame.error_message)
            case _:
                raise UpstreamBadResponse(
                    f"Bedrock sent an event-stream frame of unknown type {frame.message_type!r}"
                )

    def _error(
        self,
        code: str | None,
        message: str | None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> UpstreamError:
        return map_bedrock_error(
            code,
            message,
            model_id=self._deployment.model,
            deployment_id=self._deployment.id,
            status=status,
            retry_after=retry_after,
        )

    def _http_error(self, status: int, headers: Mapping[str, str], raw: bytes) -> UpstreamError:
        try:
            body: object = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        message = None
        if isinstance(body, dict):
            value = body.get("message", body.get("Message"))
            message = value if isinstance(value, str) else None
        return self._error(
            code_from_response(headers, body), message, status, _retry_after(headers)
        )

    @contextlib.contextmanager
    def _transport_errors(self) -> Iterator[None]:
        where = f"Bedrock ({self._endpoint.base_url}) for deployment {self._deployment.id}"
        try:
            yield
        except TimeoutError as exc:
            raise UpstreamTimeout(f"timed out waiting for {where}") from exc
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamBadResponse(f"the answer from {where} was cut off") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"could not reach {where}: {type(exc).__name__}") from exc


def _json_body(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamBadResponse("Bedrock answered with a body that is not JSON") from exc


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _seconds(deployment: Deployment, name: str) -> float | None:
    value = deployment.params.get(name)
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{name} must be a number of seconds, not {value!r}",
            source=f"deployment {deployment.id}",
        ) from exc
    if not seconds > 0:
        raise ConfigError(f"{name} must be positive", source=f"deployment {deployment.id}")
    return seconds
