"""The order of one request's life: authenticate, route, admit, call, settle, record."""

from stargate.pipeline.gate import Gate, Ticket
from stargate.pipeline.life import (
    Attempt,
    KeyLookup,
    Opener,
    Pipeline,
    ProviderLookup,
    RequestContext,
    Spend,
    UsageMeter,
)
from stargate.pipeline.principals import Principal, PrincipalDirectory

__all__ = [
    "Attempt",
    "Gate",
    "KeyLookup",
    "Opener",
    "Pipeline",
    "Principal",
    "PrincipalDirectory",
    "ProviderLookup",
    "RequestContext",
    "Spend",
    "Ticket",
    "UsageMeter",
]
