from __future__ import annotations

from stargate.config.deployment import Deployment
from stargate.routing import Router
from stargate.routing.health import Cooldowns, DeploymentHealth, Health


def dep(ident: str) -> Deployment:
    return Deployment(id=ident, model_name="m", provider="bedrock", model=f"m.{ident}")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tracked(settings: Cooldowns = Cooldowns()) -> tuple[DeploymentHealth, Clock, list[tuple]]:
    clock, changes = Clock(), []
    health = DeploymentHealth(
        settings, clock=clock, on_change=lambda d, h, s: changes.append((d.id, h, s))
    )
    return health, clock, changes


def test_more_than_allowed_fails_in_a_minute_cools_the_deployment_down() -> None:
    health, clock, changes = tracked(Cooldowns(allowed_fails=2, cooldown_seconds=5))
    a, b = dep("a"), dep("b")
    for _ in range(2):
        health.failed(a, 429)
    assert health.health("a") is Health.PARTIAL_OUTAGE
    assert health.order([a, b]) == [a, b]  # not cooling yet: two failures are allowed
    health.failed(a, 503)
    assert health.health("a") is Health.OUTAGE
    assert health.order([a, b]) == [b, a]
    assert changes == [("a", Health.PARTIAL_OUTAGE, None), ("a", Health.OUTAGE, 503)]
    clock.now += 5.1
    assert health.order([a, b]) == [a, b]  # the cooldown ran out
    assert health.health("a") is Health.PARTIAL_OUTAGE
    health.succeeded(a)
    assert health.health("a") is Health.HEALTHY
    assert changes[-1] == ("a", Health.HEALTHY, None)


def test_failures_older_than_a_minute_are_forgotten() -> None:
    health, clock, _ = tracked(Cooldowns(allowed_fails=1))
    a = dep("a")
    health.failed(a, 500)
    clock.now += 61
    health.failed(a, 500)
    assert health.health("a") is Health.PARTIAL_OUTAGE  # one failure in the last minute


def test_the_callers_own_errors_do_not_count() -> None:
    health, _, changes = tracked(Cooldowns(allowed_fails=0))
    a = dep("a")
    for status in (400, 404, 413):
        health.failed(a, status)
    assert health.health("a") is Health.HEALTHY
    assert changes == []
    health.failed(a, 401)  # a refused upstream credential is the deployment's problem
    assert health.health("a") is Health.OUTAGE


def test_disabled_cooldowns_still_track_health_but_never_reorder() -> None:
    health, _, changes = tracked(Cooldowns(allowed_fails=0, enabled=False))
    a, b = dep("a"), dep("b")
    for _ in range(5):
        health.failed(a, 500)
    assert health.order([a, b]) == [a, b]
    assert changes == [("a", Health.PARTIAL_OUTAGE, None)]


def test_a_success_of_a_healthy_deployment_reports_nothing() -> None:
    health, _, changes = tracked()
    health.succeeded(dep("a"))
    assert changes == []


def test_the_router_moves_cooling_deployments_to_the_back_of_the_rotation() -> None:
    health, _, _ = tracked(Cooldowns(allowed_fails=0, cooldown_seconds=30))
    deployments = [dep("1"), dep("2"), dep("3")]
    router = Router(deployments, health=health)
    health.failed(deployments[0], 429)
    orders = [[d.id for d in router.resolve("m")] for _ in range(3)]
    assert orders == [["2", "3", "1"], ["2", "3", "1"], ["3", "2", "1"]]
    # A replacing router (models reloaded) keeps the shared health.
    assert Router(deployments, health=router.health).resolve("m")[-1].id == "1"
