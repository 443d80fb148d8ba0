"""Spend in info answers comes from a SpendReader; without one the fields are absent, never a
made-up zero."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from stargate.admin.fields import parse_body
from stargate.admin.requests import GenerateKeyRequest, MemberAddRequest, NewTeamRequest
from stargate.admin.service import AdminService
from stargate.admin.spend import ScopeSpend, WindowSpend
from stargate.store.database import Database
from stargate.store.limits import BudgetLimit

from .conftest import Clock

RESET = datetime(2026, 2, 1, tzinfo=UTC)


class FixedSpend:
    """Every window has spent a quarter of its limit; 9 USD spent in all."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    async def read(self, scope: str, windows: Sequence[BudgetLimit]) -> ScopeSpend:
        self.scopes.append(scope)
        return ScopeSpend(
            total_micro=9_000_000,
            windows=tuple(
                WindowSpend(
                    w, w.max_budget_micro // 4, None if w.budget_duration is None else RESET
                )
                for w in windows
            ),
        )


async def test_without_a_reader_there_are_no_spend_fields(service: AdminService) -> None:
    made = await service.keys.generate(parse_body(GenerateKeyRequest, {"max_budget": 1}))
    info = (await service.keys.info(made["key"]))["info"]
    assert not {"spend", "budget_reset_at", "budget_windows"} & set(info)


async def test_a_reader_fills_spend_for_keys_teams_and_members(
    database: Database, clock: Clock
) -> None:
    reader = FixedSpend()
    service = AdminService.create(database, clock=clock, spend=reader)
    made = await service.keys.generate(
        parse_body(
            GenerateKeyRequest,
            {
                "max_budget": 1,
                "budget_duration": "1d",
                "budget_limits": [{"max_budget": 4, "budget_duration": "1mo"}],
            },
        )
    )
    info = (await service.keys.info(made["key"]))["info"]
    assert info["spend"] == 0.25
    assert info["budget_reset_at"] == RESET.isoformat()
    assert info["budget_windows"] == [
        {"max_budget": 1.0, "budget_duration": "1d", "spend": 0.25, "remaining": 0.75,
         "reset_at": RESET.isoformat()},
        {"max_budget": 4.0, "budget_duration": "1mo", "spend": 1.0, "remaining": 3.0,
         "reset_at": RESET.isoformat()},
    ]  # fmt: skip
    # A key's budget scope is its stable key_id (regenerating the secret keeps its spend).
    assert reader.scopes[-1] == f"key:{info['key_id']}"

    await service.teams.new(parse_body(NewTeamRequest, {"team_id": "t", "max_budget": 2}))
    await service.teams.member_add(
        parse_body(
            MemberAddRequest,
            {"team_id": "t", "member": {"user_id": "ana"}, "max_budget_in_team": 1},
        )
    )
    team = await service.teams.info("t")
    assert team["team_info"]["spend"] == 9.0  # a lifetime budget: everything spent
    assert team["team_info"]["budget_reset_at"] is None
    assert team["team_memberships"][0]["spend"] == 9.0
    assert {"team:t", "member:t:ana"} <= set(reader.scopes)
