"""A small synchronous client of the admin API (the standard library's ``http.client``, one
kept-alive connection). Errors become :mod:`stargate.cli.errors` with their exit codes; the
master key is sent in a header and never appears in a message."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from stargate.cli.connection import Connection
from stargate.cli.errors import ApiError, AuthError, GatewayError, Unreachable

__all__ = ["AdminClient"]

TIMEOUT = 60.0
# uvicorn closes an idle kept-alive connection after 5 s: reconnect before that.
_IDLE_LIMIT = 4.0


class AdminClient:
    def __init__(self, connection: Connection, *, timeout: float = TIMEOUT) -> None:
        self.connection = connection
        parts = urlsplit(connection.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._last_used = 0.0

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(self, path: str, params: Mapping[str, object] | None = None) -> Any:
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        target = f"{path}?{urlencode(query)}" if query else path
        return self.request("GET", target)

    def all_pages(
        self, path: str, items: str, params: Mapping[str, object], *, size_param: str = "size"
    ) -> list[dict[str, Any]]:
        """Every item of a paged admin listing (``items`` is the answer's list field)."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            answer = self.get(path, {**params, "page": page, size_param: 100})
            found += answer.get(items, [])
            if page >= int(answer.get("total_pages") or 1):
                return found
            page += 1

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("POST", path, body)

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {
            "Authorization": f"Bearer {self.connection.master_key}",
            "Accept": "application/json",
            "User-Agent": "stargate-cli",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        status, raw = self._send(method, self._base + path, data, headers)
        return self._decode(method, path, status, raw)

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is not None and time.monotonic() - self._last_used > _IDLE_LIMIT:
            self.close()
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout,
                    context=ssl.create_default_context(),
                )  # fmt: skip
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout
                )
        return self._conn

    def _send(
        self, method: str, target: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        # A reused connection the server has just closed fails before any answer: a GET is
        # safe to send again; a POST only when the request was never written.
        for attempt in (1, 2):
            reused = self._conn is not None
            conn = self._connection()
            try:
                conn.request(method, target, body=data, headers=headers)
            except (BrokenPipeError, ConnectionResetError, http.client.HTTPException) as exc:
                self.close()
                if reused and attempt == 1:
                    continue
                raise self._unreachable(exc) from exc
            except OSError as exc:
                self.close()
                raise self._unreachable(exc) from exc
            try:
                response = conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError) as exc:
                self.close()
                if reused and attempt == 1 and method == "GET":
                    continue
                raise self._unreachable(exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise self._unreachable(exc) from exc
            self._last_used = time.monotonic()
            if response.will_close:
                self.close()
            return response.status, raw
        raise AssertionError("unreachable")  # pragma: no cover

    def _unreachable(self, exc: BaseException) -> Unreachable:
        url, origin = self.connection.url, self.connection.url_from
        if isinstance(exc, socket.gaierror):
            why = f"unknown host {self._host!r}"
        elif isinstance(exc, TimeoutError | socket.timeout):
            why = f"no answer within {self._timeout:.0f} s"
        elif isinstance(exc, ConnectionRefusedError):
            why = "connection refused"
        elif isinstance(exc, ssl.SSLError):
            why = f"TLS failed ({exc.reason or exc})"
        else:
            why = str(exc) or type(exc).__name__
        return Unreachable(
            f"cannot reach the admin API at {url} (from {origin}): {why}. Is the gateway "
            "running, and is this its admin listener? Set --url or STARGATE_ADMIN_URL."
        )

    def _decode(self, method: str, path: str, status: int, raw: bytes) -> Any:
        try:
            decoded = json.loads(raw) if raw.strip() else None
        except ValueError:
            decoded = None
            if status < 400 or status >= 500:
                raise GatewayError(
                    f"{method} {path}: HTTP {status} with an answer that is not JSON; is "
                    f"{self.connection.url} the Stargate (or LiteLLM) admin API?"
                ) from None
        if status < 400:
            return decoded
        message, type_, param = _error_fields(decoded, raw)
        if status == 401:
            raise AuthError(
                f"the gateway refused the master key (HTTP 401: {message}). Check --master-key "
                f"or STARGATE_MASTER_KEY (the key used came from {self.connection.key_from})."
            )
        if status == 403:
            raise AuthError(f"HTTP 403: {message}")
        if status >= 500:
            raise GatewayError(f"{method} {path}: the gateway failed (HTTP {status}): {message}")
        raise ApiError(message, status=status, type_=type_, param=param)


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error_fields(decoded: Any, raw: bytes) -> tuple[str, str | None, str | None]:
    """LiteLLM's ``{"error": {"message", "type", "param"}}`` (or FastAPI's ``detail``)."""
    if isinstance(decoded, dict):
        error = decoded.get("error")
        if isinstance(error, dict):
            param = error.get("param")
            type_ = error.get("type")
            return (
                str(error.get("message") or "error"),
                str(type_) if type_ else None,
                str(param) if param else None,
            )
        if "detail" in decoded:
            return str(decoded["detail"]), None, None
    text = raw.decode("utf-8", "replace").strip()
    return (text[:300] or "no details"), None, None
