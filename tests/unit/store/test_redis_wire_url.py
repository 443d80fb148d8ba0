"""Redis URLs as the counters' client reads them (the forms redis-py's ``from_url`` accepts), and
the commands a new connection sends first."""

from __future__ import annotations

import hashlib
import ssl

import hiredis
import pytest

from stargate.store.redis_wire import Endpoint, Script, parse_redis_url


def test_host_port_and_database() -> None:
    assert parse_redis_url("redis://cache:6380/2") == Endpoint(host="cache", port=6380, db=2)
    assert parse_redis_url("redis://cache") == Endpoint(host="cache")
    assert parse_redis_url("redis://cache/") == Endpoint(host="cache")
    assert parse_redis_url("redis://") == Endpoint()
    assert parse_redis_url("redis://[::1]:7000/0") == Endpoint(host="::1", port=7000)
    assert parse_redis_url("redis://cache/2?db=5").db == 5  # the query wins, as in redis-py


def test_credentials_are_percent_decoded() -> None:
    endpoint = parse_redis_url("redis://:secret@env:6379/0")
    assert (endpoint.username, endpoint.password) == (None, "secret")
    endpoint = parse_redis_url("redis://alice:p%40ss%3Aw%2Frd@h/0")
    assert (endpoint.username, endpoint.password) == ("alice", "p@ss:w/rd")
    assert "p@ss" not in repr(endpoint)


def test_the_handshake_authenticates_selects_and_names() -> None:
    assert parse_redis_url("redis://h").handshake() == []
    assert parse_redis_url("redis://:pw@h/3").handshake() == [("AUTH", "pw"), ("SELECT", 3)]
    endpoint = parse_redis_url("redis://u:pw@h?client_name=gw")
    assert endpoint.handshake() == [("AUTH", "u", "pw"), ("CLIENT", "SETNAME", "gw")]
    assert hiredis.pack_command(endpoint.handshake()[0]) == (
        b"*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$2\r\npw\r\n"
    )


def test_tls() -> None:
    endpoint = parse_redis_url("rediss://cache:6390")
    assert endpoint.tls is not None
    assert endpoint.tls.verify_mode == ssl.CERT_REQUIRED
    assert endpoint.tls.check_hostname
    loose = parse_redis_url("rediss://cache?ssl_cert_reqs=none").tls
    assert loose is not None
    assert (loose.verify_mode, loose.check_hostname) == (ssl.CERT_NONE, False)
    assert parse_redis_url("redis://cache").tls is None


def test_unix_sockets() -> None:
    endpoint = parse_redis_url("unix:///run/redis.sock?db=4")
    assert (endpoint.path, endpoint.db) == ("/run/redis.sock", 4)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://cache", "redis://"),
        ("redis://cache/zero", "must be a number"),
        ("redis://cache?health_check_interval=10", "health_check_interval"),
        ("redis://cache?ssl_cert_reqs=none", "rediss://"),
        ("rediss://cache?ssl_cert_reqs=maybe", "ssl_cert_reqs"),
        ("unix://", "path"),
    ],
)
def test_what_is_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_redis_url(url)


def test_a_script_is_named_by_its_sha1() -> None:
    script = Script.of("return 1")
    assert script.sha == hashlib.sha1(b"return 1").hexdigest()
    assert script.body == b"return 1"
