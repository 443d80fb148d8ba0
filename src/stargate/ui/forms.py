"""Form fields → the admin service's request models.

Empty fields are left out, so on an edit form a blank field means "leave as it is" (as
``null`` does in the admin API). A list of models is written comma- or line-separated. A bad
value becomes the service's own :class:`~stargate.errors.InvalidRequest`, naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from stargate.ui.csrf import CSRF_FIELD

__all__ = ["LIMIT_FIELDS", "form_fields", "limits_of", "split_list"]

LIMIT_FIELDS = ("max_budget", "budget_duration", "rpm_limit", "tpm_limit", "max_parallel_requests")
_SEPARATORS = re.compile(r"[,\s]+")


async def form_fields(request: Request) -> dict[str, str]:
    """The submitted fields with a value (trimmed), without the CSRF token."""
    form = await request.form()
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if name == CSRF_FIELD or not isinstance(value, str):
            continue
        value = value.strip()
        if value:
            fields[name] = value
    return fields


def split_list(text: str | None) -> list[str]:
    return [part for part in _SEPARATORS.split(text or "") if part]


def limits_of(fields: dict[str, str]) -> dict[str, Any]:
    """The policy fields of a key, user or team form."""
    data: dict[str, Any] = {name: fields[name] for name in LIMIT_FIELDS if name in fields}
    if "models" in fields:
        data["models"] = split_list(fields["models"])
    return data
