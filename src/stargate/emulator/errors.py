"""Bedrock's error responses: the codes, statuses and messages the emulator answers with.

An error before a stream starts is an HTTP response with ``x-amzn-ErrorType:
<Code>:http://internal.amazon.com/coral/com.amazon.bedrock/`` and a ``{"message": ...}`` body;
botocore reads the code from that header. Handlers raise :class:`BedrockError` and the app's error
middleware renders it with :func:`error_response`.
"""

from __future__ import annotations

import orjson
from aiohttp import web

__all__ = [
    "ACCESS_DENIED_MESSAGE",
    "INTERNAL_SERVER_MESSAGE",
    "INVALID_MODEL_MESSAGE",
    "MODEL_TIMEOUT_MESSAGE",
    "SERVICE_UNAVAILABLE_MESSAGE",
    "THROTTLING_MESSAGE",
    "BedrockError",
    "error_response",
    "on_demand_not_supported",
    "validation_error",
]

ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

THROTTLING_MESSAGE = "Too many requests, please wait before trying again."
INTERNAL_SERVER_MESSAGE = (
    "The system encountered an unexpected error during processing. Try your request again."
)
SERVICE_UNAVAILABLE_MESSAGE = "Bedrock is unable to process your request."
ACCESS_DENIED_MESSAGE = "You don't have access to the model with the specified model ID."
MODEL_TIMEOUT_MESSAGE = "Model has timed out in processing the request. Try your request again."
INVALID_MODEL_MESSAGE = "The provided model identifier is invalid."


class BedrockError(Exception):
    """One Bedrock error: its code (the shape name), HTTP status and message."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(f"{code} ({status}): {message}")
        self.code = code
        self.status = status
        self.message = message

    @property
    def stream_member(self) -> str:
        """The lowerCamel member name this error takes as a mid-stream exception frame."""
        return self.code[:1].lower() + self.code[1:]


def validation_error(message: str) -> BedrockError:
    """A 400 ValidationException."""
    return BedrockError("ValidationException", 400, message)


def on_demand_not_supported(model_id: str) -> BedrockError:
    """The 400 Bedrock answers when a profile-only model is invoked by its base id."""
    return validation_error(
        f"Invocation of model ID {model_id} with on-demand throughput isn\u2019t supported. "
        "Retry your request with the ID or ARN of an inference profile that contains this model."
    )


def error_response(error: BedrockError, request_id: str) -> web.Response:
    """Render ``error`` the way Bedrock does before any stream has started."""
    return web.Response(
        status=error.status,
        body=orjson.dumps({"message": error.message}),
        content_type="application/json",
        headers={
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": error.code + ERROR_TYPE_SUFFIX,
        },
    )
