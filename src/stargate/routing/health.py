"""Deployment health and cooldowns, the way LiteLLM's router_settings describe them.

A deployment that fails more than ``allowed_fails`` times within a minute is *cooled down* for
``cooldown_time`` seconds. Unlike LiteLLM, a cooled-down deployment is never refused outright: the
router only moves it behind the deployments of its group that are not cooling, so a group whose
every deployment is cooling still answers (the caller would rather get a late answer than a
"no deployments available"). Only failures that say something about the deployment count:
throttling, timeouts, server errors and a refused upstream credential, not the caller's own bad
request.

The state of each deployment is what ``litellm_deployment_state`` reports: healthy (its last
attempt succeeded), partial outage (its last attempt failed) or outage (cooling down). Changes
are reported to ``on_change``, so the hot path of a healthy deployment is one dict lookup.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from stargate.config.deployment import Deployment

__all__ = ["Cooldowns", "DeploymentHealth", "Health", "counts_against"]

_WINDOW_S = 60.0


class Health(IntEnum):
    HEALTHY = 0
    PARTIAL_OUTAGE = 1
    OUTAGE = 2


@dataclass(frozen=True, slots=True)
class Cooldowns:
    """``router_settings.allowed_fails``, ``cooldown_time`` and ``disable_cooldowns``."""

    allowed_fails: int = 3
    cooldown_seconds: float = 5.0
    enabled: bool = True


def counts_against(status: int) -> bool:
    """Whether a failed attempt with this status says the deployment is unwell."""
    return status >= 500 or status in (401, 403, 408, 429)


@dataclass(slots=True)
class _State:
    health: Health = Health.HEALTHY
    failures: deque[float] = field(default_factory=deque)
    cooling_until: float = 0.0


Reporter = Callable[[Deployment, Health, int | None], None]


class DeploymentHealth:
    """Health per deployment id. ``on_change(deployment, health, cooled_status)`` is called when
    a deployment's health changes; ``cooled_status`` is the failure's status when that change
    put it in cooldown."""

    def __init__(
        self,
        settings: Cooldowns = Cooldowns(),
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Reporter | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._on_change = on_change
        self._states: dict[str, _State] = {}

    def health(self, deployment_id: str) -> Health:
        state = self._states.get(deployment_id)
        if state is None:
            return Health.HEALTHY
        if state.health is Health.OUTAGE and not self._cooling(state):
            return Health.PARTIAL_OUTAGE  # the cooldown ran out; the next attempt decides
        return state.health

    def succeeded(self, deployment: Deployment) -> None:
        state = self._states.get(deployment.id)
        if state is None or state.health is Health.HEALTHY:
            return
        state.health, state.cooling_until = Health.HEALTHY, 0.0
        state.failures.clear()
        self._report(deployment, Health.HEALTHY, None)

    def failed(self, deployment: Deployment, status: int) -> None:
        if not counts_against(status):
            return
        now = self._clock()
        state = self._states.setdefault(deployment.id, _State())
        failures = state.failures
        failures.append(now)
        while failures and failures[0] <= now - _WINDOW_S:
            failures.popleft()
        settings = self._settings
        if settings.enabled and len(failures) > settings.allowed_fails:
            failures.clear()
            state.cooling_until = now + settings.cooldown_seconds
            state.health = Health.OUTAGE
            self._report(deployment, Health.OUTAGE, status)
        elif state.health is not Health.PARTIAL_OUTAGE and not self._cooling(state):
            state.health = Health.PARTIAL_OUTAGE
            self._report(deployment, Health.PARTIAL_OUTAGE, None)

    def order(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        """``deployments`` with the cooling ones moved to the end (order kept otherwise)."""
        if not self._states or len(deployments) == 1:
            return list(deployments)
        ready: list[Deployment] = []
        cooling: list[Deployment] = []
        for deployment in deployments:
            state = self._states.get(deployment.id)
            (cooling if state is not None and self._cooling(state) else ready).append(deployment)
        return ready + cooling

    def _cooling(self, state: _State) -> bool:
        return state.cooling_until > self._clock()

    def _report(self, deployment: Deployment, health: Health, status: int | None) -> None:
        if self._on_change is not None:
            self._on_change(deployment, health, status)
