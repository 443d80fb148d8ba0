from __future__ import annotations

import pytest

from stargate.config.deployment import Deployment
from stargate.errors import NotFound
from stargate.routing import Router


def dep(name: str, ident: str) -> Deployment:
    return Deployment(id=ident, model_name=name, provider="bedrock", model=f"m.{ident}")


def test_group_rotates_and_keeps_every_deployment_as_fallback() -> None:
    router = Router([dep("a", "1"), dep("a", "2"), dep("a", "3"), dep("b", "4")])
    orders = [[d.id for d in router.resolve("a")] for _ in range(4)]
    assert orders == [["1", "2", "3"], ["2", "3", "1"], ["3", "1", "2"], ["1", "2", "3"]]
    assert [d.id for d in router.resolve("b")] == ["4"]


def test_unknown_model_is_not_found_with_a_hint() -> None:
    router = Router([dep("a", "1")])
    with pytest.raises(NotFound) as caught:
        router.resolve("nope")
    assert caught.value.code == "model_not_found"
    assert caught.value.param == "model"
    assert "/v1/models" in caught.value.message


def test_model_names_are_sorted() -> None:
    router = Router([dep("b", "1"), dep("a", "2")])
    assert list(router.model_names) == ["a", "b"]


def test_alias_and_wildcard_resolution_order() -> None:
    router = Router(
        [dep("claude-opus-4-5", "opus"), dep("claude-opus-*", "opus-any"),
         dep("claude-*", "any-claude"), dep("claude-haiku-4-5", "haiku")],
        aliases={"opus": "claude-opus-4-5", "claude-haiku-4-5-20251001": "claude-haiku-4-5"},
        hidden_aliases={"opus"},
    )  # fmt: skip
    assert [d.id for d in router.resolve("claude-opus-4-5")] == ["opus"]
    assert [d.id for d in router.resolve("opus")] == ["opus"]
    assert [d.id for d in router.resolve("claude-haiku-4-5-20251001")] == ["haiku"]
    assert [d.id for d in router.resolve("claude-opus-4-8")] == ["opus-any"]
    assert [d.id for d in router.resolve("claude-sonnet-5")] == ["any-claude"]
    with pytest.raises(NotFound):
        router.resolve("gpt-4o")
    assert list(router.model_names) == [
        "claude-haiku-4-5", "claude-haiku-4-5-20251001", "claude-opus-4-5",
    ]  # fmt: skip


def test_an_alias_may_point_at_a_name_a_pattern_serves() -> None:
    router = Router([dep("claude-sonnet-*", "s")], aliases={"sonnet": "claude-sonnet-latest"})
    assert [d.id for d in router.resolve("sonnet")] == ["s"]


def test_wildcard_cache_stays_bounded() -> None:
    router = Router([dep("m-*", "m")])
    for i in range(10_000):
        router.resolve(f"m-{i}")
    assert len(router._matched) <= 4096
