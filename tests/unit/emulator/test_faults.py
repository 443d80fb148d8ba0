"""Fault markers and the fault header."""

from __future__ import annotations

import pytest

from stargate.emulator import FAULT_NAMES
from stargate.emulator.errors import BedrockError
from stargate.emulator.faults import (
    FaultPlan,
    parse_fault_header,
    parse_fault_markers,
    strip_fault_markers,
)


@pytest.mark.parametrize(
    ("name", "code", "status"),
    [
        ("throttle", "ThrottlingException", 429),
        ("server-error", "InternalServerException", 500),
        ("unavailable", "ServiceUnavailableException", 503),
        ("access-denied", "AccessDeniedException", 403),
        ("validation", "ValidationException", 400),
        ("model-timeout", "ModelTimeoutException", 408),
    ],
)
def test_http_fault_markers_choose_their_error(name: str, code: str, status: int) -> None:
    error = parse_fault_markers(f"hello [[fault:{name}]] there").http_error()

    assert error is not None
    assert (error.code, error.status) == (code, status)


def test_the_documented_messages_are_bedrocks() -> None:
    throttle = parse_fault_header("throttle").http_error()
    denied = parse_fault_header("access-denied").http_error()

    assert throttle is not None
    assert denied is not None
    assert throttle.message == "Too many requests, please wait before trying again."
    assert denied.message == "You don't have access to the model with the specified model ID."


@pytest.mark.parametrize(
    ("name", "member"),
    [("midstream-throttle", "throttlingException"), ("midstream-error", "internalServerException")],
)
def test_midstream_faults_end_with_their_lower_camel_exception(name: str, member: str) -> None:
    plan = parse_fault_markers(f"[[fault:{name}]]")
    error = plan.stream_error()

    assert plan.stream_end == name
    assert plan.http_error() is None
    assert error is not None
    assert error.stream_member == member


def test_truncate_ends_the_stream_without_an_exception() -> None:
    plan = parse_fault_markers("[[fault:truncate]]")

    assert plan.stream_end == "truncate"
    assert plan.stream_error() is None


def test_delays_take_milliseconds_and_combine_with_other_faults() -> None:
    plan = parse_fault_markers(
        "[[fault:slow-first-byte=250]] x [[fault:slow-chunks=40]] [[fault:truncate]]"
    )

    assert plan == FaultPlan(stream_end="truncate", slow_first_byte_ms=250, slow_chunks_ms=40)


def test_the_header_lists_faults_separated_by_commas() -> None:
    plan = parse_fault_header(" slow-chunks=5 , midstream-error ")

    assert plan == FaultPlan(stream_end="midstream-error", slow_chunks_ms=5)


def test_the_first_mention_wins_and_the_header_counts_first() -> None:
    header = parse_fault_header("throttle")
    body = parse_fault_markers("[[fault:unavailable]] [[fault:server-error]]")

    assert body.http_fault == "unavailable"
    assert header.then(body).http_fault == "throttle"


@pytest.mark.parametrize(
    "spec",
    [
        "throtle",
        "slow-chunks",
        "slow-chunks=abc",
        "slow-chunks=-1",
        "throttle=5",
        "slow-chunks=600001",
    ],
)
def test_unknown_or_malformed_faults_are_a_validation_error(spec: str) -> None:
    with pytest.raises(BedrockError) as caught:
        parse_fault_markers(f"[[fault:{spec}]]")

    assert caught.value.code == "ValidationException"
    assert "throttle" in caught.value.message


def test_no_markers_no_header_is_no_fault() -> None:
    assert parse_fault_markers("plain [[text]] fault:throttle") == FaultPlan()
    assert parse_fault_header(None) == FaultPlan()
    assert parse_fault_header("") == FaultPlan()


def test_markers_are_stripped_from_text() -> None:
    assert strip_fault_markers("a [[fault:throttle]]b") == "a b"


def test_the_vocabulary_names_every_fault() -> None:
    assert set(FAULT_NAMES) == {
        "throttle", "server-error", "unavailable", "access-denied", "validation", "model-timeout",
        "midstream-throttle", "midstream-error", "truncate", "slow-first-byte", "slow-chunks",
    }  # fmt: skip
