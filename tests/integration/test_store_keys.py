"""The key repository on SQLite and PostgreSQL: what goes in comes back, blocking and deleting
work, and duplicates are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stargate.errors import InvalidRequest
from stargate.governance.keys import generate_key, hash_key
from stargate.store.database import Database
from stargate.store.keys import KeyRecord, KeyRepository

pytest_plugins = [f"{__package__}.store_fixtures" if __package__ else "store_fixtures"]

CREATED = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def full_record(key: str) -> KeyRecord:
    return KeyRecord.new(
        key,
        key_alias="ci-laptop",
        user_id="user@example.com",
        team_id="team-coding",
        models=("model-balanced", "claude-haiku-4-5"),
        max_budget_micro=2**40,  # beyond 32 bits: about $1.1M
        budget_duration="30d",
        rpm_limit=60,
        tpm_limit=100_000,
        max_parallel_requests=4,
        metadata={"tier": "coding", "nested": {"a": [1, 2]}},
        expires_at=CREATED + timedelta(days=30),
        created_at=CREATED,
        updated_at=CREATED,
    )


async def test_an_inserted_key_reads_back_field_for_field(database: Database) -> None:
    keys = KeyRepository(database)
    key = generate_key()
    record = full_record(key)

    await keys.insert(record)

    assert await keys.get_by_hash(hash_key(key)) == record
    assert await keys.get_by_alias("ci-laptop") == record


async def test_a_minimal_key_gets_empty_defaults(database: Database) -> None:
    keys = KeyRepository(database)
    key = generate_key()
    await keys.insert(KeyRecord.new(key))

    stored = await keys.get_by_hash(hash_key(key))

    assert stored is not None
    assert (stored.models, dict(stored.metadata), stored.blocked) == ((), {}, False)
    assert stored.key_prefix == f"sk-...{key[-4:]}"
    assert stored.created_at.tzinfo is not None


async def test_unknown_hash_and_alias_are_none(database: Database) -> None:
    keys = KeyRepository(database)
    assert await keys.get_by_hash(hash_key("sk-nobody")) is None
    assert await keys.get_by_alias("nobody") is None


async def test_the_same_key_twice_is_refused(database: Database) -> None:
    keys = KeyRepository(database)
    key = generate_key()
    await keys.insert(KeyRecord.new(key))

    with pytest.raises(InvalidRequest, match="already exists") as caught:
        await keys.insert(KeyRecord.new(key))
    assert caught.value.param == "key"


async def test_a_second_key_with_the_same_alias_is_refused(database: Database) -> None:
    keys = KeyRepository(database)
    await keys.insert(KeyRecord.new(generate_key(), key_alias="shared"))

    with pytest.raises(InvalidRequest, match="'shared' already exists") as caught:
        await keys.insert(KeyRecord.new(generate_key(), key_alias="shared"))
    assert caught.value.param == "key_alias"


async def test_keys_without_alias_do_not_collide(database: Database) -> None:
    keys = KeyRepository(database)
    await keys.insert(KeyRecord.new(generate_key()))
    await keys.insert(KeyRecord.new(generate_key()))


async def test_block_and_unblock(database: Database) -> None:
    keys = KeyRepository(database)
    key = generate_key()
    await keys.insert(full_record(key))

    blocked = await keys.set_blocked(hash_key(key), True)
    assert blocked is not None
    assert blocked.blocked
    assert blocked.updated_at > CREATED
    stored = await keys.get_by_hash(hash_key(key))
    assert stored is not None
    assert stored.blocked

    unblocked = await keys.set_blocked(hash_key(key), False)
    assert unblocked is not None
    assert not unblocked.blocked


async def test_blocking_an_unknown_key_reports_none(database: Database) -> None:
    assert await KeyRepository(database).set_blocked(hash_key("sk-nobody"), True) is None


async def test_delete_removes_the_key_once(database: Database) -> None:
    keys = KeyRepository(database)
    key = generate_key()
    await keys.insert(KeyRecord.new(key))

    assert await keys.delete(hash_key(key)) is True
    assert await keys.get_by_hash(hash_key(key)) is None
    assert await keys.delete(hash_key(key)) is False


async def test_a_malformed_hash_is_not_stored(database: Database) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        await KeyRepository(database).insert(KeyRecord(key_hash="sk-raw-key", key_prefix="sk-..."))
