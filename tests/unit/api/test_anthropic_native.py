"""Which providers the Messages dialect relays natively: a provider class's protocol check is
kept, and any other instance is still checked as it comes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from stargate.api.anthropic import _native
from stargate.providers.base import MessagesNative, Provider


class Native:
    def __init__(self, speaks: bool) -> None:
        self.speaks = speaks

    def speaks_messages(self) -> bool:
        return self.speaks

    async def messages(self, *args: Any) -> Any: ...

    def messages_stream(self, *args: Any) -> Any: ...

    async def count_message_tokens(self, *args: Any) -> Any: ...


class Canonical:
    pass


def as_provider(value: object) -> Provider:
    return cast(Provider, value)


def test_a_native_class_is_native_when_its_deployment_speaks_messages() -> None:
    for _ in range(2):  # the second answer comes from the kept class check
        yes, no = Native(True), Native(False)
        assert isinstance(yes, MessagesNative)
        assert _native(as_provider(yes)) is yes
        assert _native(as_provider(no)) is None


def test_other_providers_are_not_native() -> None:
    for _ in range(2):
        assert _native(as_provider(Canonical())) is None


def test_an_instance_of_another_class_is_still_checked_on_its_own() -> None:
    def speaks() -> bool:
        return True

    async def call(*args: Any) -> Any: ...

    native = SimpleNamespace(
        speaks_messages=speaks, messages=call, messages_stream=call, count_message_tokens=call
    )
    plain = SimpleNamespace(speaks_messages=speaks)
    for _ in range(2):
        assert _native(as_provider(plain)) is None
        assert _native(as_provider(native)) is native
        assert _native(as_provider(plain)) is None
