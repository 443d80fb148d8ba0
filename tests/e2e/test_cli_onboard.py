"""Seed 003 end to end with the CLI: `tiers apply` of its tiers.yaml, then `onboard` of a
500-row CSV with bad rows, against a real gateway; the result checked through the admin API,
a second run shown to change nothing, and the new keys used on the public listener."""

from __future__ import annotations

import csv
import hashlib
import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.e2e.cli_support import all_keys, all_users, cli, cli_json
from tests.e2e.processes import Emulator, Gateway, run_gateway

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

EXAMPLES = Path(__file__).parents[2] / "examples"
TIER_MODELS = {
    "drafting": "model-cheap",
    "coding": "model-balanced",
    "architect": "model-reasoning",
}
TIER_BUDGETS = {"drafting": (0.017, 0.5), "coding": (0.033, 1.0), "architect": (0.067, 2.0)}
ROWS = 500


@dataclass(frozen=True)
class Person:
    email: str
    tier: str
    alias: str
    budget: float | None
    rpm: int | None


@dataclass(frozen=True)
class Generated:
    text: str
    people: dict[str, Person]  # the good rows, by email
    bad: dict[int, str | None]  # line → the field reported


def generate(rows: int = ROWS, domain: str = "corp.example") -> Generated:
    tiers = list(TIER_MODELS)
    lines = ["email,tier,alias,budget,rpm"]
    people: dict[str, Person] = {}
    bad: dict[int, str | None] = {}
    for i in range(rows):
        line = i + 2
        person = Person(
            email=f"person{i:03d}@{domain}",
            tier=tiers[i % 3],
            alias=f"Person {i:03d}",
            budget=float(f"{i % 5 + 1}.25") if i % 7 == 0 else None,
            rpm=30 + i % 50 if i % 11 == 0 else None,
        )
        fields = [person.email, person.tier, person.alias,
                  "" if person.budget is None else str(person.budget),
                  "" if person.rpm is None else str(person.rpm)]  # fmt: skip
        match i:
            case 17:
                fields[0], bad[line] = f"person017-at-{domain}", "email"
            case 123:
                fields[1], bad[line] = "drafitng", "tier"
            case 250:
                fields[3], bad[line] = "twelve", "budget"
            case 333:
                fields[4], bad[line] = "fast", "rpm"
            case 444:
                fields[0], bad[line] = f"person010@{domain}", "email"  # already on line 12
            case 499:
                fields.append("surplus"), bad.__setitem__(line, None)
            case _:
                people[person.email] = person
        lines.append(",".join(fields))
    return Generated("\n".join(lines) + "\n", people, bad)


@pytest.fixture(scope="module")
def gateway(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway of its own, so the teams, users and keys found are exactly the CLI's."""
    with run_gateway(emulator.url, tmp_path_factory.mktemp("gateway-cli-onboard")) as gw:
        yield gw


def snapshot(gateway: Gateway) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Users and keys with their timestamps, spend left out."""

    def lean(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k not in ("spend", "budget_windows")}

    users = sorted((lean(u) for u in all_users(gateway)), key=lambda u: u["user_id"])
    keys = sorted((lean(k) for k in all_keys(gateway)), key=lambda k: k["token"])
    return users, keys


def onboard(gateway: Gateway, workdir: Path, csv_name: str = "users.csv") -> tuple[int, Any, str]:
    result = cli(gateway, "onboard", csv_name, "--keys-file", "keys.csv", "--json", cwd=workdir)
    return result.returncode, json.loads(result.stdout), result.stdout + result.stderr


def test_tiers_then_500_people_then_nothing_changes(gateway: Gateway, tmp_path: Path) -> None:
    applied = cli_json(gateway, "tiers", "apply", str(EXAMPLES / "tiers.yaml"), cwd=tmp_path)
    assert {(t["tier"], t["team"], t["budget"]) for t in applied} == {
        (tier, "created", "created") for tier in TIER_MODELS
    }
    again = cli_json(gateway, "tiers", "apply", str(EXAMPLES / "tiers.yaml"), cwd=tmp_path)
    assert {(t["team"], t["budget"]) for t in again} == {("unchanged", "unchanged")}

    teams = {t["team_alias"]: t for t in cli_json(gateway, "teams", "list", cwd=tmp_path)}
    assert set(teams) == set(TIER_MODELS)
    for tier, team in teams.items():
        daily, monthly = TIER_BUDGETS[tier]
        assert team["models"] == [TIER_MODELS[tier]]
        assert (team["max_budget"], team["budget_duration"]) == (daily, "1d")
        assert team["budget_limits"] == [{"max_budget": monthly, "budget_duration": "1mo"}]

    generated = generate()
    (tmp_path / "users.csv").write_text(generated.text)
    code, summary, shown = onboard(gateway, tmp_path)

    assert code == 1, "some rows failed: exit code 1"
    good = len(generated.people)
    assert summary["rows"] == ROWS
    assert summary["users"] == {"created": good, "updated": 0, "unchanged": 0}
    assert summary["keys"] == {"created": good, "updated": 0, "unchanged": 0}
    assert {e["line"]: e["field"] for e in summary["errors"]} == generated.bad
    assert "drafting" in next(e for e in summary["errors"] if e["line"] == 125)["message"]
    assert "line 12" in next(e for e in summary["errors"] if e["line"] == 446)["message"]

    # The keys file: 0600, one line per person, and those keys appear nowhere else.
    keys_file = tmp_path / "keys.csv"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    written = list(csv.DictReader(keys_file.read_text().splitlines()))
    assert len(written) == good
    assert not any(row["key"] in shown for row in written)
    secret_of = {row["email"]: row["key"] for row in written}

    # What the admin API holds: the right users, teams, keys and budgets.
    users = {u["user_id"]: u for u in all_users(gateway)}
    assert set(users) == set(generated.people)
    keys = list(all_keys(gateway))
    assert len(keys) == good
    for key in keys:
        person = generated.people[key["user_id"]]
        user = users[person.email]
        assert (user["user_email"], user["user_alias"]) == (person.email, person.alias)
        assert user["teams"] == [person.tier]
        assert key["team_id"] == person.tier
        assert key["key_alias"] == person.alias
        assert key["max_budget"] == person.budget
        assert key["budget_duration"] == ("monthly" if person.budget is not None else None)
        assert key["rpm_limit"] == person.rpm
        assert key["metadata"] == {"onboarded_by": "stargate"}
        assert hashlib.sha256(secret_of[person.email].encode()).hexdigest() == key["token"]

    # A second run changes nothing: no write, no new key, the same bad rows reported.
    before = snapshot(gateway)
    file_before = keys_file.read_bytes()
    code, summary, _ = onboard(gateway, tmp_path)
    assert code == 1
    assert summary["users"] == {"created": 0, "updated": 0, "unchanged": good}
    assert summary["keys"] == {"created": 0, "updated": 0, "unchanged": good}
    assert summary["keys_written"] == 0
    assert {e["line"]: e["field"] for e in summary["errors"]} == generated.bad
    assert keys_file.read_bytes() == file_before
    assert snapshot(gateway) == before

    # The keys work on the public listener, each limited to its tier's model.
    for tier, model in TIER_MODELS.items():
        email = next(p.email for p in generated.people.values() if p.tier == tier)
        client = openai.OpenAI(
            base_url=gateway.url + "/v1", api_key=secret_of[email], max_retries=0
        )
        reply = client.chat.completions.create(
            model=model, max_tokens=20, messages=[{"role": "user", "content": "hello"}]
        )
        assert reply.choices[0].message.content
        other = next(m for t, m in TIER_MODELS.items() if t != tier)
        with pytest.raises(openai.PermissionDeniedError) as refused:
            client.chat.completions.create(
                model=other, max_tokens=20, messages=[{"role": "user", "content": "hello"}]
            )
        assert refused.value.status_code == 403
        client.close()


def test_a_changed_row_updates_the_key_and_moves_it_to_the_new_tier(
    gateway: Gateway, tmp_path: Path
) -> None:
    cli_json(gateway, "tiers", "apply", str(EXAMPLES / "tiers.yaml"), cwd=tmp_path)
    header = "email,tier,alias,budget,rpm\n"
    (tmp_path / "users.csv").write_text(header + "mover@move.example,drafting,Mover,,\n")
    code, summary, _ = onboard(gateway, tmp_path)
    assert code == 0, summary
    secret = next(csv.DictReader((tmp_path / "keys.csv").read_text().splitlines()))["key"]

    (tmp_path / "users.csv").write_text(header + "mover@move.example,coding,Mover M.,3,20\n")
    code, summary, _ = onboard(gateway, tmp_path)
    assert code == 0, summary
    assert summary["users"]["updated"] == 1
    assert summary["keys"] == {"created": 0, "updated": 1, "unchanged": 0}
    (key,) = all_keys(gateway, user_id="mover@move.example")
    assert (key["team_id"], key["key_alias"], key["max_budget"], key["rpm_limit"]) == (
        "coding", "Mover M.", 3.0, 20,
    )  # fmt: skip
    (user,) = (u for u in all_users(gateway) if u["user_id"] == "mover@move.example")
    assert user["teams"] == ["coding"]

    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=secret, max_retries=0)
    message = [{"role": "user", "content": "hello"}]
    client.chat.completions.create(model="model-balanced", max_tokens=20, messages=message)  # type: ignore[arg-type]
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="model-cheap", max_tokens=20, messages=message)  # type: ignore[arg-type]
    client.close()


def test_a_bad_header_exits_2_and_changes_nothing(gateway: Gateway, tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text("mail,group\nx@y.example,coding\n")
    result = cli(gateway, "onboard", "users.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert "line 1" in result.stderr
    assert "missing: email, tier" in result.stderr
    assert not any(u["user_id"] == "x@y.example" for u in all_users(gateway))


def test_check_reports_unknown_tiers_without_changing_anything(
    gateway: Gateway, tmp_path: Path
) -> None:
    (tmp_path / "users.csv").write_text("email,tier\nnew@check.example,platinum\n")
    result = cli(gateway, "onboard", "users.csv", "--check", cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown tier 'platinum'" in result.stdout
    assert not any(u["user_id"] == "new@check.example" for u in all_users(gateway))
