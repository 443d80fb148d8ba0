"""The admin client's answers to failures: each kind of failure its exit code, never the key."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stargate.cli.client import AdminClient
from stargate.cli.connection import resolve
from stargate.cli.errors import ApiError, AuthError, CliError, ExitCode, GatewayError, Unreachable
from tests.e2e.processes import free_port

SECRET = "sk-the-secret-master-key-0123"
ANSWERS: dict[str, tuple[int, bytes]] = {
    "/ok": (200, b'{"users": []}'),
    "/unauthorized": (401, b'{"error": {"message": "Invalid API key.", "type": "auth_error"}}'),
    "/forbidden": (403, b'{"error": {"message": "needs the master key"}}'),
    "/missing": (
        404,
        b'{"error": {"message": "User not found: x", "type": "not_found", "param": "user_id"}}',
    ),
    "/broken": (500, b'{"error": {"message": "boom"}}'),
    "/html": (200, b"<html>not the admin API</html>"),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = ANSWERS[self.path.split("?")[0]]
        self.server.seen.append((self.path, self.headers.get("Authorization")))  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def client(url: str, tmp_path: Path) -> AdminClient:
    return AdminClient(resolve(url, SECRET, {}, tmp_path), timeout=5)


def url_of(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_ok_sends_the_key_as_bearer_and_the_query(
    server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    with client(url_of(server), tmp_path) as c:
        assert c.get("/ok", {"page": 2, "flag": True, "none": None}) == {"users": []}
        assert c.get("/ok") == {"users": []}  # the kept-alive connection
    assert server.seen == [  # type: ignore[attr-defined]
        ("/ok?page=2&flag=true", f"Bearer {SECRET}"),
        ("/ok", f"Bearer {SECRET}"),
    ]


@pytest.mark.parametrize(
    ("path", "kind", "code", "words"),
    [
        ("/unauthorized", AuthError, ExitCode.AUTH, "refused the master key"),
        ("/forbidden", AuthError, ExitCode.AUTH, "needs the master key"),
        ("/missing", ApiError, ExitCode.REFUSED, "User not found: x"),
        ("/broken", GatewayError, ExitCode.GATEWAY, "HTTP 500"),
        ("/html", GatewayError, ExitCode.GATEWAY, "not JSON"),
    ],
)
def test_failures_map_to_exit_codes(
    server: ThreadingHTTPServer,
    tmp_path: Path,
    path: str,
    kind: type[CliError],
    code: ExitCode,
    words: str,
) -> None:
    with client(url_of(server), tmp_path) as c, pytest.raises(kind) as caught:
        c.post(path, {"x": 1})
    assert caught.value.code == code
    assert words in caught.value.message
    assert SECRET not in caught.value.message


def test_a_not_found_keeps_the_param(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    with client(url_of(server), tmp_path) as c, pytest.raises(ApiError) as caught:
        c.get("/missing")
    assert (caught.value.status, caught.value.param) == (404, "user_id")


def test_nothing_listening_is_unreachable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with client(url, tmp_path) as c, pytest.raises(Unreachable) as caught:
        c.get("/user/list")
    assert caught.value.code == ExitCode.UNREACHABLE
    assert "connection refused" in caught.value.message
    assert url in caught.value.message


def test_json_bodies_are_sent(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    with client(url_of(server), tmp_path) as c:
        assert c.post("/ok", {"user_ids": ["a"]}) == json.loads(ANSWERS["/ok"][1])
