"""The Bedrock provider: Converse and ConverseStream for the canonical path; InvokeModel and
InvokeModelWithResponseStream for Claude in the Anthropic Messages dialect; CountTokens for both.

Per deployment params (all optional): ``timeout`` (seconds, the whole non-stream call; default
600), ``stream_timeout`` (seconds of silence allowed between stream chunks, and before the first
one; default 120, or ``timeout`` when that is smaller), ``connect_timeout`` (seconds to open a
connection; default 10). A request without ``max_tokens`` gets ``model_info.max_tokens``, else
``model_info.max_output_tokens``, else 4096.

**Which API.** A Claude deployment (``anthropic.claude`` in its id, profile ids and ARNs
included) speaks the Messages dialect natively through InvokeModel (:meth:`speaks_messages`),
unless its model is pinned to ``bedrock/converse/...``. ``bedrock/invoke/...`` is for Claude
only: another model there is a :class:`ConfigError` at start-up. An opaque ARN (application
inference profile, provisioned or imported model) says nothing of its model: pinned to invoke it
is taken for Claude, and ``model_info.base_model`` (a base id) tells its family; otherwise it
goes through Converse. What each Claude family accepts comes from the table in
:mod:`.claude_features`, loaded once per provider set.

**Thinking on Converse.** ``extra["thinking"]`` (from the Anthropic dialect) goes to Claude as
``additionalModelRequestFields.thinking`` (adaptive thinking degraded to a budget on families
without it, as on InvokeModel); Claude 3.x and other models cannot think and do not get it.

**Token counting.** CountTokens takes base model ids only: the deployment's base id is derived
from its id (geography prefix and ARN removed) or from ``model_info.base_model``. When there is
none, or Bedrock answers that the model cannot count tokens, the count is the gateway's own
estimate (``exact=False``, never an undercount; :mod:`stargate.translate.anthropic_tokens`).

Failures, all from :mod:`stargate.errors`: an HTTP error → the Bedrock error table
(:mod:`.errors`); no connection → :class:`UpstreamUnavailable`; a timeout →
:class:`UpstreamTimeout`; an unreadable answer, a corrupt frame or a stream that ends early
(before ``messageStop`` and ``metadata``, or before ``message_stop``) →
:class:`UpstreamBadResponse`; an exception frame mid-stream → its mapped error, raised from the
iterator.

Cancellation: when the consumer of a stream stops (``aclose()`` on the iterator, or its task is
cancelled) the upstream response is closed at once, and the connection with it, so Bedrock sees
the client go away. :meth:`BedrockProvider.aclose` closes any stream still open.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson

from stargate.config.deployment import Deployment
from stargate.core import ChatRequest, ChatResponse, StreamEvent
from stargate.errors import (
    ConfigError,
    InternalError,
    InvalidRequest,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from stargate.providers.base import CallContext, MessagesResult, TokenCount
from stargate.providers.bedrock.claude_features import ClaudeFeatures
from stargate.providers.bedrock.converse_request import render_converse_request
from stargate.providers.bedrock.converse_response import message_id, parse_converse_response
from stargate.providers.bedrock.converse_stream import ConverseStreamState
from stargate.providers.bedrock.count_tokens import (
    converse_count_body,
    counting_unsupported,
    invoke_count_body,
    parse_count_response,
)
from stargate.providers.bedrock.endpoint import BedrockEndpoint, Operation, resolve_endpoint
from stargate.providers.bedrock.errors import code_from_response, map_bedrock_error
from stargate.providers.bedrock.eventstream import Frame, FrameDecoder, decode_payload
from stargate.providers.bedrock.invoke_request import (
    InvokeBody,
    prepare_invoke_body,
    thinking_budget,
)
from stargate.providers.bedrock.invoke_stream import InvokeStreamState
from stargate.providers.bedrock.model_identity import ModelIdentity, identify_model
from stargate.providers.bedrock.signing import BedrockCredentials, authorize, authorize_now
from stargate.providers.http1 import (
    BadResponse,
    Http1Pool,
    HttpClientError,
    StreamResponse,
    Timeouts,
)
from stargate.translate.anthropic_tokens import estimate_input_tokens, estimate_request_tokens
from stargate.translate.anthropic_usage import usage_from_message

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
# What each operation asks for: InvokeModelWithResponseStream names the model's content type in
# X-Amzn-Bedrock-Accept, the stream's own in Accept.
_ACCEPT: Mapping[Operation, Mapping[str, str]] = MappingProxyType(
    {
        "converse": {"Accept": _JSON},
        "converse-stream": {"Accept": _EVENT_STREAM},
        "invoke": {"Accept": _JSON},
        "invoke-with-response-stream": {"Accept": _EVENT_STREAM, "X-Amzn-Bedrock-Accept": _JSON},
        "count-tokens": {"Accept": _JSON},
    }
)
# The signed headers of each operation (never modified: signing returns a new dict).
_REQUEST_HEADERS: Mapping[Operation, Mapping[str, str]] = MappingProxyType(
    {operation: {"Content-Type": _JSON, **accept} for operation, accept in _ACCEPT.items()}
)
_log = logging.getLogger(__name__)
# Failures below HTTP, mapped by BedrockProvider._transport_error.
_TRANSPORT_ERRORS = (TimeoutError, HttpClientError)
# Headers a caller-supplied forward header may never set: they carry or shape the signature.
_RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "host",
        "content-type",
        "content-length",
        "accept",
        "transfer-encoding",
        "x-amzn-bedrock-accept",
    }
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
    """Serves one Bedrock deployment. Owns neither the connection pool nor the credentials:
    the provider set that built it closes those."""

    def __init__(
        self,
        deployment: Deployment,
        pool: Http1Pool,
        credentials: BedrockCredentials,
        *,
        environ: Mapping[str, str] | None = None,
        features: ClaudeFeatures | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._deployment = deployment
        self._pool = pool
        self._credentials = credentials
        self._endpoint = endpoint = resolve_endpoint(deployment, env)
        self._urls = {
            operation: endpoint.url_text(deployment.model, operation) for operation in _ACCEPT
        }
        self._timeouts = timeouts = BedrockTimeouts.from_params(deployment)
        self._call_timeouts = Timeouts(
            total=timeouts.total, pool=timeouts.connect, connect=timeouts.connect
        )
        # No total deadline for a stream (a long answer may stream for many minutes); waiting
        # for a free connection slot is bounded like silence is.
        self._stream_timeouts = Timeouts(
            pool=timeouts.stream_idle, connect=timeouts.connect, read=timeouts.stream_idle
        )
        self._identity = identify_model(
            deployment, lambda: features if features is not None else ClaudeFeatures.load(env)
        )
        info = deployment.info
        self._default_max_tokens = info.max_tokens or info.max_output_tokens or DEFAULT_MAX_TOKENS
        self._open_streams: set[StreamResponse] = set()

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

    @property
    def identity(self) -> ModelIdentity:
        return self._identity

    # --- Converse (the canonical path) --------------------------------------------------------

    async def complete(self, request: ChatRequest, call: CallContext) -> ChatResponse:
        body = self._converse_body(request)
        status, headers, raw = await self._post("converse", body, call)
        if status != 200:
            raise self._http_error(status, headers, raw)
        request_id = headers.get(_REQUEST_ID_HEADER)
        return parse_converse_response(
            _json_body(raw), model=self._deployment.model, upstream_request_id=request_id
        )

    async def stream(
        self, request: ChatRequest, call: CallContext
    ) -> AsyncGenerator[StreamEvent, None]:
        body = self._converse_body(request)
        async with self._event_stream("converse-stream", body, call) as response:
            request_id = response.headers.get(_REQUEST_ID_HEADER)
            state = ConverseStreamState(message_id(request_id), self._deployment.model, request_id)
            decoder = FrameDecoder()
            while (frames := await self._read_frames(response, decoder)) is not None:
                for frame in frames:
                    for event in self._on_converse_frame(state, frame):
                        yield event
            state.finish()

    async def count_tokens(self, request: ChatRequest, call: CallContext) -> TokenCount:
        """CountTokens in its converse form; the local estimate where Bedrock cannot count."""
        body = render_converse_request(
            self._converse_view(request), default_max_tokens=self._default_max_tokens
        )
        return await self._count(
            converse_count_body(body), call, lambda: estimate_request_tokens(request)
        )

    # --- InvokeModel (the Anthropic Messages dialect, Claude only) ----------------------------

    def speaks_messages(self) -> bool:
        return self._identity.native_messages

    def prepare_messages(self, body: Mapping[str, Any], betas: Sequence[str]) -> InvokeBody:
        """The InvokeModel body for a caller's Messages body, with what was dropped or
        rewritten (for the API layer's report); pure, the caller's body is not modified."""
        family = self._identity.family
        if family is None:
            raise InternalError(
                f"deployment {self._deployment.id} ({self._deployment.model}) does not take the "
                "Anthropic Messages dialect; route it through the canonical path"
            )
        return prepare_invoke_body(body, betas, family)

    async def messages(
        self, body: dict[str, Any], betas: Sequence[str], call: CallContext
    ) -> MessagesResult:
        payload = _encode(self.prepare_messages(body, betas).body)
        status, headers, raw = await self._post("invoke", payload, call)
        if status != 200:
            raise self._http_error(status, headers, raw)
        message = _json_body(raw)
        if not isinstance(message, dict):
            raise UpstreamBadResponse("Bedrock answered InvokeModel with JSON that is no object")
        return MessagesResult(
            body=message,
            usage=usage_from_message(message),
            upstream_request_id=headers.get(_REQUEST_ID_HEADER),
        )

    async def messages_stream(
        self, body: dict[str, Any], betas: Sequence[str], call: CallContext
    ) -> AsyncGenerator[dict[str, Any], None]:
        payload = _encode(self.prepare_messages(body, betas).body)
        async with self._event_stream("invoke-with-response-stream", payload, call) as response:
            state = InvokeStreamState(self._deployment.model)
            decoder = FrameDecoder()
            while (frames := await self._read_frames(response, decoder)) is not None:
                for frame in frames:
                    if frame.message_type != "event":
                        raise self._frame_error(frame)
                    if frame.name == "chunk":
                        yield state.feed(decode_payload(frame))
                    else:
                        _log.debug("ignoring Bedrock invoke stream event %r", frame.name)
            state.finish()

    async def count_message_tokens(
        self, body: dict[str, Any], betas: Sequence[str], call: CallContext
    ) -> TokenCount:
        """CountTokens in its invokeModel form (the body as :meth:`messages` would send it);
        the local estimate where Bedrock cannot count."""
        countable = dict(body)
        countable["max_tokens"] = _max_tokens_for_count(body, self._default_max_tokens)
        payload = _encode(self.prepare_messages(countable, betas).body)
        return await self._count(
            invoke_count_body(payload), call, lambda: estimate_input_tokens(body)
        )

    async def aclose(self) -> None:
        """Close every stream still open (the pool and credentials belong to the set)."""
        streams, self._open_streams = self._open_streams, set()
        for response in streams:
            response.close()

    # --- request bodies -----------------------------------------------------------------------

    def _converse_view(self, request: ChatRequest) -> ChatRequest:
        """``extra["thinking"]`` as this model can take it: Claude gets it (adaptive degraded to
        a budget where the family lacks it); Claude 3.x and other models do not."""
        thinking = request.extra.get("thinking")
        if thinking is None:
            return request
        extra = dict(request.extra)
        family = self._identity.family
        if family is None or not family.extended_thinking:
            del extra["thinking"]
        elif _is_adaptive(thinking) and not family.adaptive_thinking:
            budget = thinking_budget(request.max_tokens or self._default_max_tokens)
            if budget is None:
                del extra["thinking"]
            else:
                extra["thinking"] = {"type": "enabled", "budget_tokens": budget}
        return dataclasses.replace(request, extra=extra)

    def _converse_body(self, request: ChatRequest) -> bytes:
        payload = render_converse_request(
            self._converse_view(request), default_max_tokens=self._default_max_tokens
        )
        return _encode(payload)

    # --- transport ----------------------------------------------------------------------------

    async def _signed(
        self, operation: Operation, body: bytes, call: CallContext, *, model_id: str | None = None
    ) -> tuple[str, dict[str, str]]:
        url = (
            self._urls[operation]
            if model_id is None
            else self._endpoint.url_text(model_id, operation)
        )
        request_headers = _REQUEST_HEADERS[operation]
        region = self._endpoint.region
        headers = authorize_now(
            self._credentials, region=region, url=url, body=body, headers=request_headers
        )
        if headers is None:  # credentials in their mandatory refresh window: wait for it
            headers = await authorize(
                self._credentials, region=region, url=url, body=body, headers=request_headers
            )
        if call.forward_headers:
            for name, value in call.forward_headers.items():
                lowered = name.lower()
                if lowered not in _RESERVED_HEADERS and not lowered.startswith("x-amz-"):
                    headers[name] = value
        return url, headers

    async def _post(
        self, operation: Operation, body: bytes, call: CallContext, *, model_id: str | None = None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One non-stream call: status, headers and the whole body."""
        url, headers = await self._signed(operation, body, call, model_id=model_id)
        try:
            response = await self._pool.request("POST", url, headers, body, self._call_timeouts)
        except _TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc) from exc
        return response.status, response.headers, response.body

    @contextlib.asynccontextmanager
    async def _event_stream(
        self, operation: Operation, body: bytes, call: CallContext
    ) -> AsyncIterator[StreamResponse]:
        """An open event-stream response. Leaving the block normally releases the connection
        for reuse; leaving it any other way (an error, ``aclose()``, cancellation) closes it,
        so the upstream sees the client go at once."""
        url, headers = await self._signed(operation, body, call)
        try:
            response = await self._pool.stream("POST", url, headers, body, self._stream_timeouts)
        except _TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc) from exc
        self._open_streams.add(response)
        finished = False
        try:
            if response.status != 200:
                try:
                    raw = await response.read()
                except _TRANSPORT_ERRORS as exc:
                    raise self._transport_error(exc) from exc
                finished = True
                raise self._http_error(response.status, response.headers, raw)
            yield response
            finished = True
        finally:
            self._open_streams.discard(response)
            if finished:
                response.release()
            else:
                response.close()

    async def _read_frames(
        self, response: StreamResponse, decoder: FrameDecoder
    ) -> list[Frame] | None:
        """The next whole frames (possibly none yet); ``None`` at the end of the body."""
        try:
            chunk = await response.readany()
        except _TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc) from exc
        return decoder.feed(chunk) if chunk else None

    async def _count(
        self, body: bytes, call: CallContext, estimate: Callable[[], int]
    ) -> TokenCount:
        model_id = self._identity.count_model_id
        if model_id is None:
            return TokenCount(estimate(), exact=False)
        status, headers, raw = await self._post("count-tokens", body, call, model_id=model_id)
        if status != 200:
            err = self._http_error(status, headers, raw, model_id=model_id)
            if counting_unsupported(err):
                return TokenCount(estimate(), exact=False)
            raise err
        return TokenCount(parse_count_response(_json_body(raw)), exact=True)

    # --- frames and errors --------------------------------------------------------------------

    def _on_converse_frame(self, state: ConverseStreamState, frame: Frame) -> list[StreamEvent]:
        if frame.message_type == "event":
            return state.feed(frame.name, decode_payload(frame))
        raise self._frame_error(frame)

    def _frame_error(self, frame: Frame) -> UpstreamError:
        match frame.message_type:
            case "exception":
                message = decode_payload(frame).get("message")
                return self._error(frame.name, message if isinstance(message, str) else None)
            case "error":
                return self._error(frame.name or None, frame.error_message)
            case _:
                return UpstreamBadResponse(
                    f"Bedrock sent an event-stream frame of unknown type {frame.message_type!r}"
                )

    def _error(
        self,
        code: str | None,
        message: str | None,
        status: int | None = None,
        retry_after: float | None = None,
        *,
        model_id: str | None = None,
    ) -> UpstreamError:
        return map_bedrock_error(
            code,
            message,
            model_id=model_id or self._deployment.model,
            deployment_id=self._deployment.id,
            status=status,
            retry_after=retry_after,
        )

    def _http_error(
        self,
        status: int,
        headers: Mapping[str, str],
        raw: bytes,
        *,
        model_id: str | None = None,
    ) -> UpstreamError:
        try:
            body: object = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        message = None
        if isinstance(body, dict):
            value = body.get("message", body.get("Message"))
            message = value if isinstance(value, str) else None
        return self._error(
            code_from_response(headers, body),
            message,
            status,
            _retry_after(headers),
            model_id=model_id,
        )

    def _transport_error(self, exc: TimeoutError | HttpClientError) -> UpstreamError:
        """What a failure below HTTP is to the gateway (raise it ``from exc``)."""
        where = f"Bedrock ({self._endpoint.base_url}) for deployment {self._deployment.id}"
        if isinstance(exc, TimeoutError):
            return UpstreamTimeout(f"timed out waiting for {where}")
        if isinstance(exc, BadResponse):
            return UpstreamBadResponse(f"the answer from {where} was cut off")
        return UpstreamUnavailable(f"could not reach {where}: {type(exc).__name__}")


def _encode(payload: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(payload)
    except orjson.JSONEncodeError as exc:
        raise InvalidRequest(f"the request cannot be encoded as JSON: {exc}") from exc


def _is_adaptive(thinking: object) -> bool:
    return isinstance(thinking, dict) and thinking.get("type") == "adaptive"


def _max_tokens_for_count(body: Mapping[str, Any], default: int) -> int:
    """CountTokens validates the whole invoke body, so it needs a valid ``max_tokens`` (which
    does not change the count): the caller's, else the deployment default, raised above any
    thinking budget."""
    value = body.get("max_tokens")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    thinking = body.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if isinstance(budget, int) and not isinstance(budget, bool) and budget >= default:
        return budget + 1
    return default


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
