"""Admin UI building blocks: password hashing, the login throttle, CSRF tokens, money."""

from __future__ import annotations

from stargate.ui.csrf import csrf_for, same
from stargate.ui.passwords import (
    check_password_rules,
    hash_password,
    verify_password,
    verify_password_async,
)
from stargate.ui.render import dollars
from stargate.ui.throttle import LoginThrottle


def test_a_password_hash_verifies_only_its_password_and_never_holds_it() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$16384$8$1$")
    assert "correct horse" not in stored
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert hash_password("correct horse battery") != stored  # a salt per hash
    assert not verify_password("x", "not-a-hash")
    assert check_password_rules("short") is not None
    assert check_password_rules("long enough pass") is None


async def test_an_unknown_name_is_checked_against_a_decoy_and_refused() -> None:
    stored = hash_password("correct horse battery")
    assert await verify_password_async("correct horse battery", stored)
    assert not await verify_password_async("correct horse battery", None)
    assert not await verify_password_async("correct horse battery", None)  # the decoy is kept


def test_the_throttle_refuses_after_the_limit_until_the_window_passes() -> None:
    now = [0.0]
    throttle = LoginThrottle(limit=3, address_limit=5, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("user:a", "ip:1") == 0
        throttle.failed("user:a", "ip:1")
    assert throttle.retry_after("user:a", "ip:1") == 60
    assert throttle.retry_after("user:b", "ip:1") == 0  # the address has 2 tries left
    now[0] = 61
    assert throttle.retry_after("user:a", "ip:1") == 0
    throttle.failed("user:a")
    throttle.succeeded("user:a")
    assert throttle.retry_after("user:a") == 0


def test_csrf_tokens_belong_to_their_session() -> None:
    assert same(csrf_for("session-1"), csrf_for("session-1"))
    assert not same(csrf_for("session-1"), csrf_for("session-2"))
    assert not same(None, csrf_for("session-1"))
    assert not same("", "")


def test_money_is_shown_in_dollars() -> None:
    assert dollars(1_234_567, micro=True) == "$1.23"
    assert dollars(42, micro=True) == "$0.000042"
    assert dollars(0.5) == "$0.50"
    assert dollars(None) == "-"
