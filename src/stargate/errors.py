"""The one exception tree.

Every error Stargate raises on purpose is a :class:`StargateError`. Each class knows its HTTP
status, its type in the OpenAI dialect (LiteLLM's names where LiteLLM has one), its type in the
Anthropic dialect, and whether a client may retry. Foreign exceptions are mapped at the boundary
where they occur (``raise ... from exc``) and rendered in the caller's dialect in one place
(``stargate.api.errors``).
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "BudgetExceeded",
    "ConfigError",
    "InternalError",
    "InvalidRequest",
    "ModelAccessDenied",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "RequestTooLarge",
    "ServiceUnavailable",
    "StargateError",
    "UpstreamAccessDenied",
    "UpstreamBadResponse",
    "UpstreamError",
    "UpstreamInvalidRequest",
    "UpstreamNotFound",
    "UpstreamOverloaded",
    "UpstreamServerError",
    "UpstreamThrottled",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]


class StargateError(Exception):
    """Base of every deliberate error. Subclasses set the class attributes below."""

    status: int = 500
    openai_type: str = "internal_server_error"
    anthropic_type: str = "api_error"
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.retry_after = retry_after
        self.headers: dict[str, str] = dict(headers or {})


class ConfigError(Exception):
    """A configuration file or setting is invalid. Raised at start-up, never per request."""

    def __init__(self, message: str, *, source: str | None = None, path: str | None = None) -> None:
        where = source or "configuration"
        if path:
            where = f"{where}: {path}"
        super().__init__(f"{where}: {message}")
        self.source = source
        self.path = path
        self.reason = message


# --- the caller's fault -------------------------------------------------------------------------


class InvalidRequest(StargateError):
    status = 400
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"


class AuthenticationFailed(StargateError):
    status = 401
    openai_type = "auth_error"
    anthropic_type = "authentication_error"


class PermissionDenied(StargateError):
    status = 403
    openai_type = "permission_denied"
    anthropic_type = "permission_error"


class NotFound(StargateError):
    status = 404
    openai_type = "not_found_error"
    anthropic_type = "not_found_error"


class RequestTooLarge(StargateError):
    status = 413
    openai_type = "invalid_request_error"
    anthropic_type = "request_too_large"


class RateLimited(StargateError):
    status = 429
    openai_type = "rate_limit_exceeded"
    anthropic_type = "rate_limit_error"
    retryable = True


class ModelAccessDenied(PermissionDenied):
    """A key, user or team may not call the model (LiteLLM's ``key_model_access_denied``,
    ``user_model_access_denied``, ``team_model_access_denied``)."""

    def __init__(self, message: str, *, scope_kind: str) -> None:
        super().__init__(message)
        self.scope_kind = scope_kind
        self.openai_type = f"{scope_kind}_model_access_denied"


class BudgetExceeded(StargateError):
    """A budget window cannot pay for the request. Not a rate limit: retrying does not help
    until the window resets, so clients are told not to retry (``x-should-retry: false``) and
    ``retry-after`` is only given when the reset is at most a minute away. ``headers`` name the
    scope (``x-stargate-budget-scope``) and the reset time."""

    status = 429
    openai_type = "budget_exceeded"
    anthropic_type = "rate_limit_error"
    retryable = False


class ServiceUnavailable(StargateError):
    """A service the gateway itself depends on (the counter store) cannot be reached."""

    status = 503
    openai_type = "service_unavailable"
    anthropic_type = "api_error"
    retryable = True


class InternalError(StargateError):
    status = 500
    openai_type = "internal_server_error"
    anthropic_type = "api_error"


# --- the upstream's answer, mapped ------------------------------------------------------------


class UpstreamError(StargateError):
    """An error that came from (or on the way to) the upstream provider."""

    status = 502
    openai_type = "upstream_error"
    anthropic_type = "api_error"
    retryable = True


class UpstreamInvalidRequest(UpstreamError):
    """The upstream refused the request as malformed (Bedrock ValidationException)."""

    status = 400
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    retryable = False


class UpstreamAccessDenied(UpstreamError):
    """The gateway's own credentials may not call this model (model access not granted)."""

    status = 403
    openai_type = "permission_denied"
    anthropic_type = "permission_error"
    retryable = False


class UpstreamNotFound(UpstreamError):
    status = 404
    openai_type = "not_found_error"
    anthropic_type = "not_found_error"
    retryable = False


class UpstreamThrottled(UpstreamError):
    status = 429
    openai_type = "rate_limit_exceeded"
    anthropic_type = "rate_limit_error"


class UpstreamServerError(UpstreamError):
    """The upstream failed internally (Bedrock InternalServerException, ModelErrorException)."""

    status = 502
    openai_type = "upstream_error"
    anthropic_type = "api_error"


class UpstreamBadResponse(UpstreamError):
    """The upstream's answer could not be understood (bad JSON, a corrupt or cut stream)."""

    status = 502
    openai_type = "upstream_error"
    anthropic_type = "api_error"


class UpstreamUnavailable(UpstreamError):
    """The upstream cannot be reached or said it is unavailable."""

    status = 503
    openai_type = "service_unavailable"
    anthropic_type = "overloaded_error"


class UpstreamOverloaded(UpstreamError):
    """The upstream is overloaded (Anthropic's 529)."""

    status = 529
    openai_type = "service_unavailable"
    anthropic_type = "overloaded_error"


class UpstreamTimeout(UpstreamError):
    status = 504
    openai_type = "timeout"
    anthropic_type = "api_error"
