"""The field types of admin requests, and turning a JSON body into a request model.

LiteLLM clients send many optional fields, so request models ignore what they do not know; a
known field of the wrong type is a 400 that names it (``param``: ``budget_limits.0.max_budget``).
Money arrives as USD JSON numbers and becomes integer micro-USD through ``Decimal(str(x))``
(pydantic's float → Decimal conversion), never float arithmetic; a fraction of a micro-dollar is
dropped, as the governance engine drops it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from stargate.core.money import micro_to_usd
from stargate.errors import InvalidRequest
from stargate.governance.durations import expires_after, parse_window
from stargate.governance.keys import hash_key
from stargate.governance.policy import limit_micro_from_usd

__all__ = [
    "AdminRequest",
    "BudgetDuration",
    "BudgetLimitIn",
    "Count",
    "Expiry",
    "ModelLimits",
    "Parallel",
    "Text",
    "Usd",
    "is_key_hash",
    "iso",
    "key_hash_of",
    "micro",
    "parse_body",
    "usd",
]

_KEY_HASH = re.compile(r"[0-9a-f]{64}")
# Counters are exact integers up to 2**53 micro-dollars in every backend: about $9 billion.
MAX_USD = Decimal(2**53 // 1_000_000)
# A key made before this moment with an accepted ``duration`` expires within the calendar.
_LATEST_START = datetime(2200, 1, 1, tzinfo=UTC)


def is_key_hash(identifier: str) -> bool:
    """Whether a key named in a request is its SHA-256 hash (not the key itself)."""
    return _KEY_HASH.fullmatch(identifier) is not None


def key_hash_of(identifier: str) -> str:
    """A key as presented (``sk-...``) or its SHA-256 hash → the hash."""
    return identifier if is_key_hash(identifier) else hash_key(identifier)


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    return value


def _duration(value: str) -> str:
    """A budget window the governance engine reads, kept as written."""
    parse_window(value)  # InvalidDuration (a ValueError) says what is accepted
    return value.strip()


def _expiry(value: str) -> str:
    """A key lifetime, kept as written: one that ends after the calendar does is refused."""
    parse_window(value)  # InvalidDuration says what is accepted
    try:
        expires_after(value, _LATEST_START)
    except (OverflowError, ValueError) as exc:  # beyond year 9999
        raise ValueError(f"{value!r} is too long a duration") from exc
    return value.strip()


Usd = Annotated[Decimal, BeforeValidator(_no_bool), Field(ge=0, le=MAX_USD, allow_inf_nan=False)]
Count = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=2**53)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Parallel = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=2**31 - 1)]
BudgetDuration = Annotated[str, StringConstraints(max_length=32), AfterValidator(_duration)]
Expiry = Annotated[str, StringConstraints(max_length=32), AfterValidator(_expiry)]
ModelLimits = dict[Text, Count]


class AdminRequest(BaseModel):
    """Base of every request body: unknown fields are ignored, known ones checked."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True, frozen=True)


class BudgetLimitIn(AdminRequest):
    """One entry of ``budget_limits``: ``{"max_budget": 0.5, "budget_duration": "1mo"}``."""

    max_budget: Usd
    budget_duration: BudgetDuration


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], data: Any) -> M:
    """Validate a decoded JSON body (or query parameters) against ``model``; the first problem
    becomes an :class:`InvalidRequest` whose ``param`` is the field's path."""
    if not isinstance(data, Mapping):
        raise InvalidRequest("the request body must be a JSON object", param=None)
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        # With unions pydantic reports every member's failure: the deepest path is the one
        # that says what is wrong (member.0.role rather than "member is not a list").
        located = [
            ([str(part) for part in error["loc"] if not _is_type_tag(part)], error["msg"])
            for error in exc.errors(include_url=False, include_input=False)
        ]
        parts, message = max(located, key=lambda item: len(item[0]))
        path = ".".join(parts)
        message = message.removeprefix("Value error, ")
        raise InvalidRequest(f"{path or 'body'}: {message}", param=path or None) from exc


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "dict", "list"})
_CONSTRAINED = re.compile(r"constrained-[a-z]+")


def _model_names(cls: type[BaseModel]) -> set[str]:
    names = {cls.__name__}
    for sub in cls.__subclasses__():
        names |= _model_names(sub)
    return names


def _is_type_tag(part: int | str) -> bool:
    """Pydantic puts the union member in error paths (``member.MemberIn.role``,
    ``teams.0.constrained-str``); the caller's field path has none of them (but may have
    a model name as a key: ``model_rpm_limit.claude-haiku-4-5``)."""
    if isinstance(part, int):
        return False
    return (
        part in _TYPE_TAGS
        or "[" in part
        or _CONSTRAINED.fullmatch(part) is not None
        or part in _model_names(AdminRequest)
    )


def micro(amount: Decimal | None) -> int | None:
    """USD (a checked, non-negative Decimal) → integer micro-USD, as the governance engine
    converts limits: a fraction of a micro-dollar is dropped, so a limit never grows."""
    return None if amount is None else limit_micro_from_usd(amount)


def usd(amount: int | None) -> float | None:
    """Integer micro-USD → a USD JSON number, as LiteLLM shows money."""
    return None if amount is None else float(micro_to_usd(amount))


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
