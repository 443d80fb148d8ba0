"""How an admission's outcome is told to the client: response headers for an admitted request,
and the error (with its headers) for a refused one. The API layer renders the error in the
caller's dialect; these headers are the same in both.

* Admitted: ``x-stargate-budget-remaining`` (USD left in the tightest budget window, after this
  request's reservation) and ``x-stargate-budget-reset-at`` (RFC 3339; absent for a lifetime
  budget), and OpenAI's ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` for the
  tightest RPM and TPM limits.
* Lowered ``max_tokens``: ``x-stargate-max-tokens-lowered`` carries the ``max_tokens`` used.
* Budget refusal: :class:`~stargate.errors.BudgetExceeded` (429, ``budget_exceeded``; a message
  starting "Budget exceeded"), ``x-stargate-budget-scope: key|user|team|member``, the reset time,
  and ``retry-after`` only when the window resets within a minute.
* Rate refusal: :class:`~stargate.errors.RateLimited` (429, ``rate_limit_exceeded``) with
  ``retry-after`` and the ``x-ratelimit-*`` headers of the limit that refused.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime
from typing import assert_never

from stargate.core.money import MICRO_PER_USD, micro_to_usd
from stargate.errors import BudgetExceeded, RateLimited
from stargate.governance.admission import Admitted, BudgetState, RateKind, RateState, Refused
from stargate.governance.policy import scope_kind

__all__ = [
    "BUDGET_REMAINING_HEADER",
    "BUDGET_RESET_HEADER",
    "BUDGET_SCOPE_HEADER",
    "MAX_TOKENS_LOWERED_HEADER",
    "RETRY_AFTER_BUDGET_MAX_S",
    "admission_headers",
    "lowered_headers",
    "refusal_error",
    "reset_duration",
]

BUDGET_REMAINING_HEADER = "x-stargate-budget-remaining"
BUDGET_RESET_HEADER = "x-stargate-budget-reset-at"
BUDGET_SCOPE_HEADER = "x-stargate-budget-scope"
MAX_TOKENS_LOWERED_HEADER = "x-stargate-max-tokens-lowered"
# A budget refusal says when to retry only if the window resets within this many seconds.
RETRY_AFTER_BUDGET_MAX_S = 60
# A parallel-requests refusal cannot know when a slot frees; clients are told to wait this long.
_PARALLEL_RETRY_S = 1.0
_RATE_WORDS: dict[RateKind, str] = {"requests": "requests", "tokens": "tokens"}
_RATE_HEADERS: dict[RateKind, tuple[str, str, str]] = {
    kind: (f"x-ratelimit-limit-{w}", f"x-ratelimit-remaining-{w}", f"x-ratelimit-reset-{w}")
    for kind, w in _RATE_WORDS.items()
}
_REQUESTS_LIMIT, _REQUESTS_REMAINING, _REQUESTS_RESET = _RATE_HEADERS["requests"]
_TOKENS_LIMIT, _TOKENS_REMAINING, _TOKENS_RESET = _RATE_HEADERS["tokens"]
_EXACT_MICRO = 10**20  # below this, a Decimal of micro-dollars / 10**6 is exact (28 digits)


def _usd(micro: int) -> str:
    if 0 <= micro < _EXACT_MICRO:  # the same text as the decimal's, without a Decimal
        whole, fraction = divmod(micro, MICRO_PER_USD)
        return f"{whole}.{fraction:06d}"
    return f"{micro_to_usd(micro):.6f}"


@functools.lru_cache(maxsize=256)  # a reset instant is the same for a whole window
def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


_last_reset: tuple[datetime | None, str] = (None, "")  # the last reset instant told, its text


def reset_duration(seconds: float) -> str:
    """OpenAI's form of a reset delay: ``12ms``, ``1s``, ``6m0s``, ``1h2m3s``."""
    if seconds < 1:
        millis = math.ceil(seconds * 1000)
        return f"{millis if millis > 0 else 0}ms"
    whole = math.ceil(seconds)
    if whole < 60:
        return f"{whole}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _rate_headers(kind: RateKind, limit: int, remaining: int, reset_s: float) -> dict[str, str]:
    limit_name, remaining_name, reset_name = _RATE_HEADERS[kind]
    return {
        limit_name: str(limit),
        remaining_name: str(remaining),
        reset_name: reset_duration(reset_s),
    }


def admission_headers(admitted: Admitted, headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers for a response to an admitted request (none when nothing was counted), added to
    ``headers`` when given. Built in one pass over the states, on every admitted request: the
    tightest budget (the least left, the first of equals) and the tightest requests and tokens
    limits (the fewest remaining, the first of equals), as :attr:`Admitted.tightest_budget` and
    :meth:`Admitted.tightest_rate` choose them."""
    if headers is None:
        headers = {}
    budget: BudgetState | None = None
    for state in admitted.budgets:
        if budget is None or state.headroom_micro < budget.headroom_micro:
            budget = state
    if budget is not None:
        headroom = budget.headroom_micro
        if 0 <= headroom < _EXACT_MICRO:  # _usd, inline
            whole, fraction = divmod(headroom, MICRO_PER_USD)
            headers[BUDGET_REMAINING_HEADER] = f"{whole}.{fraction:06d}"
        else:
            headers[BUDGET_REMAINING_HEADER] = _usd(max(0, headroom))
        reset_at = budget.reset_at
        if reset_at is not None:
            # A window's reset instant is one object for all its requests (the plan's): its text
            # is kept with it, and looked up by identity before it is hashed (in UTC offsets).
            global _last_reset
            last = _last_reset
            if last[0] is not reset_at:
                last = _last_reset = (reset_at, _rfc3339(reset_at))
            headers[BUDGET_RESET_HEADER] = last[1]
    rates = admitted.rates
    if rates:
        requests: RateState | None = None
        tokens: RateState | None = None
        for rate in rates:
            if rate.kind == "requests":
                if requests is None or rate.remaining < requests.remaining:
                    requests = rate
            elif tokens is None or rate.remaining < tokens.remaining:
                tokens = rate
        if requests is not None:
            headers[_REQUESTS_LIMIT] = str(requests.limit)
            headers[_REQUESTS_REMAINING] = str(requests.remaining)
            headers[_REQUESTS_RESET] = reset_duration(requests.reset_s)
        if tokens is not None:
            headers[_TOKENS_LIMIT] = str(tokens.limit)
            headers[_TOKENS_REMAINING] = str(tokens.remaining)
            headers[_TOKENS_RESET] = reset_duration(tokens.reset_s)
    return headers


def lowered_headers(max_tokens: int) -> dict[str, str]:
    """The header saying ``max_tokens`` was lowered to fit the budget, and to what."""
    return {MAX_TOKENS_LOWERED_HEADER: str(max_tokens)}


def refusal_error(refused: Refused) -> BudgetExceeded | RateLimited:
    """The error to raise for a refused admission."""
    kind = scope_kind(refused.scope)
    retry = refused.retry_after_s
    if refused.reason == "budget":
        headroom = next(
            (b.headroom_micro for b in refused.headroom if b.window_key == refused.window_key),
            0,
        )
        when = (
            "it does not reset"
            if refused.reset_at is None
            else f"it resets at {_rfc3339(refused.reset_at)}"
        )
        headers = {BUDGET_SCOPE_HEADER: kind, BUDGET_REMAINING_HEADER: _usd(headroom)}
        if refused.reset_at is not None:
            headers[BUDGET_RESET_HEADER] = _rfc3339(refused.reset_at)
        return BudgetExceeded(
            f"Budget exceeded: this {kind}'s budget of ${micro_to_usd(refused.limit):f} "
            f"has ${_usd(headroom)} left, not enough for this request; {when}.",
            retry_after=retry if retry is not None and retry <= RETRY_AFTER_BUDGET_MAX_S else None,
            headers=headers,
        )
    match refused.reason:
        case "rpm":
            what = f"{refused.limit} requests per minute"
            headers = _rate_headers("requests", refused.limit, 0, retry or 0.0)
        case "tpm":
            what = f"{refused.limit} tokens per minute"
            headers = _rate_headers("tokens", refused.limit, 0, retry or 0.0)
        case "parallel":
            what = f"{refused.limit} parallel requests"
            headers = {}
            retry = _PARALLEL_RETRY_S
        case _:
            assert_never(refused.reason)
    return RateLimited(
        f"Rate limit exceeded: this {kind} allows {what}.", retry_after=retry, headers=headers
    )
