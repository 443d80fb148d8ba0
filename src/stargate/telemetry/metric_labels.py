"""The label values metrics are recorded with, and the guards that keep their series bounded.

Label *names* follow LiteLLM (``litellm/types/integrations/prometheus.py``) so that its Grafana
dashboards and alert rules keep working. Two guards bound the number of series:

* :class:`LabelCap` lets at most ``limit`` distinct values through per high-cardinality label
  (key hash, user, end user, e-mail, client IP, user agent); later newcomers are recorded as
  :data:`OVERFLOW`. A value let through stays let through, so a series never changes its name.
* :class:`BoundedCache` keeps the pre-bound metric series of the most recent label tuples, so
  recording a request is a dictionary hit and a few additions, not a label lookup per metric.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Generic, Literal, NamedTuple, TypeVar

__all__ = [
    "HIGH_CARDINALITY_LABELS",
    "OVERFLOW",
    "BoundedCache",
    "BudgetOwner",
    "BudgetScope",
    "DeploymentLabels",
    "DeploymentState",
    "LabelCap",
    "RequestLabels",
]

HIGH_CARDINALITY_LABELS = frozenset(
    {"hashed_api_key", "user", "user_email", "end_user", "client_ip", "user_agent"}
)
"""Labels with one value per key, person or client. ``litellm_settings.
prometheus_drop_high_cardinality_labels: true`` removes them from every metric (``user_email`` is
the user by another name, so it goes with ``user``)."""

OVERFLOW = "__other__"
"""The value recorded once a label has seen its limit of distinct values."""

K = TypeVar("K")
V = TypeVar("V")


class RequestLabels(NamedTuple):
    """Who asked for what; the label values every per-request metric shares.

    ``model`` is the deployment's model (LiteLLM's ``litellm_model_name``), ``requested_model``
    the public name the caller sent. Empty strings are fine: Prometheus treats an empty label
    as an absent one.

    A named tuple, not a dataclass: it is the key of the bound-series caches, looked up a few
    times per request, and a tuple hashes and compares in C.
    """

    requested_model: str
    model: str = ""
    model_id: str = ""
    hashed_api_key: str = ""
    api_key_alias: str = ""
    team: str = ""
    team_alias: str = ""
    user: str = ""
    user_email: str = ""
    end_user: str = ""
    route: str = ""
    api_provider: str = ""
    api_base: str = ""
    client_ip: str = ""
    user_agent: str = ""

    def value(self, label: str) -> str:
        """The value of a LiteLLM label name (``model_group`` and ``litellm_model_name`` are
        LiteLLM's other names for ``requested_model`` and ``model``)."""
        match label:
            case "model_group":
                return self.requested_model
            case "litellm_model_name":
                return self.model
            case _:
                value: str = getattr(self, label)
                return value


@dataclass(slots=True, frozen=True)
class DeploymentLabels:
    """One deployment, as LiteLLM's deployment metrics name it."""

    litellm_model_name: str
    model_id: str
    api_provider: str
    api_base: str = ""


class DeploymentState(IntEnum):
    """``litellm_deployment_state``: 0 healthy, 1 partial outage, 2 outage."""

    HEALTHY = 0
    PARTIAL_OUTAGE = 1
    OUTAGE = 2


BudgetScope = Literal["key", "user", "team"]


class BudgetOwner(NamedTuple):
    """Whose budget a gauge reports: a key (``id`` is its SHA-256 hash, ``alias`` its alias), a
    user (``id``), or a team (``id`` and its ``alias``). A named tuple, as
    :class:`RequestLabels` is: a cache key."""

    scope: BudgetScope
    id: str
    alias: str = ""


class LabelCap:
    """At most ``limit`` distinct values per high-cardinality label; the rest become
    :data:`OVERFLOW`. Only consulted when a label tuple is first bound, never per request."""

    __slots__ = ("_limit", "_seen")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the label value limit must be at least 1")
        self._limit = limit
        self._seen: dict[str, set[str]] = {}

    def admit(self, label: str, value: str) -> str:
        if not value or label not in HIGH_CARDINALITY_LABELS:
            return value
        seen = self._seen.setdefault(label, set())
        if value in seen:
            return value
        if len(seen) >= self._limit:
            return OVERFLOW
        seen.add(value)
        return value


class BoundedCache(Generic[K, V]):
    """A least-recently-used map of at most ``size`` entries, filled on demand."""

    __slots__ = ("_data", "_size")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("the cache size must be at least 1")
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, make: Callable[[K], V]) -> V:
        data = self._data
        found = data.get(key)
        if found is not None:
            data.move_to_end(key)
            return found
        made = data[key] = make(key)
        if len(data) > self._size:
            data.popitem(last=False)
        return made

    def __len__(self) -> int:
        return len(self._data)
