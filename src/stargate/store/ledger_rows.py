"""One ledger row (:class:`SpendRow`): what a request was, who made it, what it cost.

The same row travels three ways: built by the pipeline, appended to the local journal as one line
of JSON (:func:`encode_row` / :func:`decode_row`), and inserted into ``spend_logs``
(:func:`clipped_values`, which trims text to the column sizes so a long user-agent can never make
a row impossible to store; :mod:`stargate.store.ledger_insert` encodes them for the driver).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import orjson
from sqlalchemy import String

from stargate.store.ledger_tables import spend_logs

__all__ = [
    "COLUMNS",
    "SpendRow",
    "SpendStatus",
    "clipped_values",
    "decode_row",
    "encode_row",
    "json_safe",
]

SpendStatus = Literal["success", "error", "cancelled"]
_STATUSES = frozenset({"success", "error", "cancelled"})
_LENGTHS = {
    column.name: column.type.length
    for column in spend_logs.columns
    if isinstance(column.type, String) and column.type.length
}
_TIMES = ("started_at", "ended_at")


@dataclass
class SpendRow:
    """One request in the ledger. Times are timezone-aware; money is integer micro-USD;
    ``cost_micro=None`` means the cost is unknown (an unpriced model), never zero.

    Not slotted on purpose: orjson encodes a dataclass that has a ``__dict__`` from the dict
    (its fields in order, as they were set by ``__init__``) in less than half the time it
    takes to read a slotted one field by field, and every row is encoded on the request path.

    ``key_id`` is the key's stable id (its budget scope ``key:<key_id>``; unchanged when the
    key is regenerated, unlike ``key_hash``). ``model`` is the model id sent upstream
    (``us.anthropic...``), ``requested_model`` the name the client asked for; ``route`` is the
    API route called (``/v1/chat/completions``, ``/v1/messages``), which names the dialect.
    ``prompt`` and ``response`` are dropped by the writer unless
    ``general_settings.store_prompts_in_spend_logs`` is on.
    """

    request_id: str
    started_at: datetime
    ended_at: datetime
    requested_model: str
    status: SpendStatus = "success"
    key_hash: str | None = None
    key_id: str | None = None
    key_alias: str | None = None
    user_id: str | None = None
    team_id: str | None = None
    end_user: str | None = None
    deployment_id: str | None = None
    model: str | None = None
    provider: str | None = None
    region: str | None = None
    route: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_micro: int | None = None
    latency_ms: int = 0
    ttft_ms: int | None = None
    error_type: str | None = None
    http_status: int | None = None
    stream: bool = False
    client_ip: str | None = None
    user_agent: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    prompt: str | None = None
    response: str | None = None

    @property
    def day(self) -> date:
        """The UTC date the request started: the day its rollup counts it under."""
        return self.started_at.astimezone(UTC).date()

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )

    def check(self) -> None:
        """Refuse a row that could never be stored (a programming error in the caller)."""
        if not self.request_id:
            raise ValueError("a ledger row needs a request_id")
        if self.started_at.tzinfo is None or self.ended_at.tzinfo is None:
            raise ValueError("ledger times must be timezone-aware")
        if self.status not in _STATUSES:
            raise ValueError(f"status must be success, error or cancelled, not {self.status!r}")


_FIELDS = tuple(f.name for f in fields(SpendRow))
_FIELD_SET = frozenset(_FIELDS)
if {column.name for column in spend_logs.columns} != _FIELD_SET:
    raise RuntimeError("SpendRow's fields and spend_logs' columns differ")
COLUMNS = _FIELDS  # the spend_logs columns, in the order of :func:`clipped_values`
# The text columns (the only ones a value is clipped in), with their sizes (``None``: unbounded).
_LIMITS = tuple(
    (index, _LENGTHS.get(name))
    for index, name in enumerate(_FIELDS)
    if isinstance(spend_logs.c[name].type, String)
)
_values_of = operator.attrgetter(*_FIELDS)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)


def encode_row(row: SpendRow) -> bytes:
    """One journal line: the row as JSON, newline-terminated."""
    return orjson.dumps(row, default=_json_default, option=orjson.OPT_APPEND_NEWLINE)


def decode_row(line: bytes) -> SpendRow:
    """A journal line back into a row. Raises ``ValueError`` when the line is not one (a line
    torn by a crash mid-write)."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not a JSON journal line: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("a journal line must be a JSON object")
    values = {name: value for name, value in data.items() if name in _FIELD_SET}
    try:
        for name in _TIMES:
            values[name] = datetime.fromisoformat(values[name])
        row = SpendRow(**values)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a ledger row: {exc}") from exc
    row.check()
    return row


def clipped_values(row: SpendRow) -> list[Any]:
    """The row's values in :data:`COLUMNS` order, text trimmed to the column sizes and NUL
    replaced. Runs for every row the writer commits: only the text columns are looked at, and
    a value is clipped only when it needs it. Tags and metadata are left as they are (the
    insert encodes them: :func:`stargate.store.ledger_insert.log_values`)."""
    values = list(_values_of(row))
    for index, limit in _LIMITS:
        value = values[index]
        if value.__class__ is str and (
            "\x00" in value or (limit is not None and len(value) > limit)
        ):  # PostgreSQL text cannot hold NUL; ``[:None]`` keeps it whole
            values[index] = value.replace("\x00", "\ufffd")[:limit]
    return values


def json_safe(metadata: dict[str, Any]) -> Any:
    """Free-form metadata made JSON-safe with the journal's fallbacks (Decimal → string, ...)."""
    return orjson.loads(orjson.dumps(metadata, default=_json_default))
