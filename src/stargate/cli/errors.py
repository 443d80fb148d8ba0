"""The CLI's failures and the exit codes scripts can rely on.

===  ======================================================================================
0    done
1    the gateway refused the request (not found, invalid, conflict); for ``onboard``, some
     rows failed (the others were applied)
2    usage: a bad flag or argument, an unreadable or malformed input file (CSV header, YAML)
3    authentication: no master key, or the gateway refused it
4    the admin API cannot be reached (connection refused, unknown host, timeout)
5    the gateway failed (HTTP 5xx) or answered something that is not the admin API
===  ======================================================================================
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "EXIT_CODES_HELP",
    "ApiError",
    "AuthError",
    "CliError",
    "ExitCode",
    "GatewayError",
    "InputError",
    "Unreachable",
]


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    AUTH = 3
    UNREACHABLE = 4
    GATEWAY = 5


EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 refused by the gateway (not found, invalid) or, for onboard, some "
    "rows failed; 2 bad usage or input file; 3 no or wrong master key; 4 gateway unreachable; "
    "5 gateway error."
)


class CliError(Exception):
    """A failure to report in one line and exit with ``code``."""

    code: ExitCode = ExitCode.REFUSED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApiError(CliError):
    """The gateway answered a 4xx: ``status``, LiteLLM's error ``type`` and ``param``."""

    code = ExitCode.REFUSED

    def __init__(
        self, message: str, *, status: int, type_: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.param = param


class InputError(CliError):
    code = ExitCode.USAGE


class AuthError(CliError):
    code = ExitCode.AUTH


class Unreachable(CliError):
    code = ExitCode.UNREACHABLE


class GatewayError(CliError):
    code = ExitCode.GATEWAY
