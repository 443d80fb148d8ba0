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
