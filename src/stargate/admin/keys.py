"""Virtual keys: ``/key/generate|update|delete|info|list|regenerate|block|unblock``.

A key is ``sk-`` + 256 random bits, returned once by ``generate``/``regenerate`` and stored only
as its SHA-256 hash. Wherever a request names a key it may give the key or its hash.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.admin.context import AdminContext, policy_changes
from stargate.admin.fields import key_hash_of, micro
from stargate.admin.render import render_key
from stargate.admin.requests import (
    DeleteKeysRequest,
    GenerateKeyRequest,
    KeyListQuery,
    RegenerateKeyRequest,
    UpdateKeyRequest,
)
from stargate.admin.spend import add_spend, key_scope
from stargate.errors import InvalidRequest, NotFound
from stargate.governance.durations import expires_after
from stargate.governance.keys import generate_key, hash_key, key_hint
from stargate.store.keys import KeyRecord, KeySort

__all__ = ["KeyAdmin"]


class KeyAdmin:
    def __init__(self, context: AdminContext) -> None:
        self._ctx = context

    async def generate(self, request: GenerateKeyRequest) -> dict[str, Any]:
        """Make a key. The answer carries the key itself (``key``), shown this once."""
        secret = request.key or generate_key()
        now = self._ctx.now()
        async with self._ctx.database.write() as conn:
            fields = await self._changes(request, conn)
            record = KeyRecord.new(secret, created_at=now, updated_at=now, **fields)
            await self._ctx.keys.insert(record, conn=conn)
        return await self._shown_new(record, secret, request.duration)

    async def update(self, request: UpdateKeyRequest) -> dict[str, Any]:
        """Change the fields given; ``null`` or absent fields stay as they are."""
        async with self._ctx.database.write() as conn:
            if request.key is not None:
                key = await self._ctx.find_key(request.key, conn=conn)
                changes = await self._changes(request, conn)
            elif request.key_alias is not None:
                key = await self._by_alias(request.key_alias, conn)
                changes = await self._changes(request, conn)
                changes.pop("key_alias", None)
            else:
                raise InvalidRequest("give key (or key_alias) to name the key", param="key")
            updated = await self._ctx.keys.update(
                key.key_hash, changes, now=self._ctx.now(), conn=conn
            )
        assert updated is not None  # found in this transaction
        return await self.shown(updated)

    async def delete(self, request: DeleteKeysRequest) -> dict[str, Any]:
        """Delete every key named, or none: an unknown key is a 404 and nothing is deleted."""
        if not request.keys and not request.key_aliases:
            raise InvalidRequest("give keys or key_aliases", param="keys")
        async with self._ctx.database.write() as conn:
            hashes: dict[str, None] = {}
            for identifier in request.keys or ():
                hashes[(await self._ctx.find_key(identifier, conn=conn)).key_hash] = None
            for alias in request.key_aliases or ():
                hashes[(await self._by_alias(alias, conn)).key_hash] = None
            for key_hash in hashes:
                await self._ctx.keys.delete(key_hash, conn=conn)
        return {"deleted_keys": [*(request.keys or ()), *(request.key_aliases or ())]}

    async def info(self, identifier: str) -> dict[str, Any]:
        key = await self._ctx.find_key(identifier)
        return {"key": key.key_hash, "info": await self.shown(key)}

    async def list(self, query: KeyListQuery) -> dict[str, Any]:
        sort: KeySort = "expires_at" if query.sort_by == "expires" else query.sort_by
        page = await self._ctx.keys.list(
            user_id=query.user_id,
            team_id=query.team_id,
            key_alias=query.key_alias,
            key_hash=key_hash_of(query.key_hash) if query.key_hash else None,
            offset=(query.page - 1) * query.size,
            limit=query.size,
            sort_by=sort,
            descending=query.sort_order == "desc",
        )
        keys: list[Any] = (
            [await self.shown(key) for key in page.keys]
            if query.return_full_object
            else [key.key_hash for key in page.keys]
        )
        return {
            "keys": keys,
            "total_count": page.total,
            "current_page": query.page,
            "total_pages": math.ceil(page.total / query.size),
        }

    async def regenerate(
        self, request: RegenerateKeyRequest, path_key: str | None = None
    ) -> dict[str, Any]:
        """A new secret for the same key: settings stay (plus any given here), the old secret
        stops working at once."""
        identifier = path_key or request.key
        if identifier is None:
            raise InvalidRequest("give the key to regenerate", param="key")
        secret = request.new_key or generate_key()
        async with self._ctx.database.write() as conn:
            key = await self._ctx.find_key(identifier, conn=conn)
            changes = await self._changes(request, conn)
            changes.update(key_hash=hash_key(secret), key_prefix=key_hint(secret))
            updated = await self._ctx.keys.update(
                key.key_hash, changes, now=self._ctx.now(), conn=conn
            )
        assert updated is not None  # found in this transaction
        return await self._shown_new(updated, secret, request.duration)

    async def block(self, identifier: str, blocked: bool) -> dict[str, Any]:
        async with self._ctx.database.write() as conn:
            key = await self._ctx.find_key(identifier, conn=conn)
            updated = await self._ctx.keys.update(
                key.key_hash, {"blocked": blocked}, now=self._ctx.now(), conn=conn
            )
        assert updated is not None  # found in this transaction
        return await self.shown(updated)

    async def find(self, identifier: str) -> KeyRecord | None:
        """The key, or ``None`` (no error): for callers that check a key presented to them."""
        return await self._ctx.keys.get_by_hash(key_hash_of(identifier))

    async def shown(self, key: KeyRecord) -> dict[str, Any]:
        """The key object of info and list answers (with spend once a reader is wired)."""
        return await add_spend(
            render_key(key),
            self._ctx.spend,
            key_scope(key.key_id),
            key.max_budget_micro,
            key.budget_duration,
            key.budget_limits,
        )

    async def _shown_new(self, key: KeyRecord, secret: str, duration: str | None) -> dict[str, Any]:
        shown = {"key": secret, **await self.shown(key), "token_id": key.key_hash}
        shown["duration"] = duration
        return shown

    async def _by_alias(self, alias: str, conn: AsyncConnection) -> KeyRecord:
        key = await self._ctx.keys.get_by_alias(alias, conn=conn)
        if key is None:
            raise NotFound(f"Key not found: alias {alias!r}", param="key_alias")
        return key

    async def _changes(
        self,
        request: GenerateKeyRequest | UpdateKeyRequest | RegenerateKeyRequest,
        conn: AsyncConnection,
    ) -> dict[str, Any]:
        """The key fields a request sets; its user and team must exist (a user is made when
        unknown, as LiteLLM does; a team may be named by its alias)."""
        changes = policy_changes(request)
        for name in ("model_rpm_limit", "model_tpm_limit", "key_alias", "blocked"):
            value = getattr(request, name)
            if value is not None:
                changes[name] = value
        if request.soft_budget is not None:
            changes["soft_budget_micro"] = micro(request.soft_budget)
        if request.duration is not None:
            changes["expires_at"] = expires_after(request.duration, self._ctx.now())
        if request.user_id is not None:
            changes["user_id"] = (await self._ctx.ensure_user(request.user_id, conn=conn)).user_id
        if request.team_id is not None:
            changes["team_id"] = (await self._ctx.find_team(request.team_id, conn=conn)).team_id
        return changes
