"""The Redis service the tests use ($STARGATE_TEST_REDIS_URL, else redis://127.0.0.1:6379/0).

Missing Redis skips a test on a developer's machine and fails it under ``CI=true``."""

from __future__ import annotations

import os

import pytest
import redis

REDIS_URL = os.environ.get("STARGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis() -> str:
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        reason = f"Redis is not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return REDIS_URL


def forget_prefix(prefix: str, url: str = REDIS_URL) -> None:
    """Delete every key of counters made under ``prefix`` (their keys start ``{prefix}:``)."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{{{prefix}}}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
