"""Routing: logical names to deployments, rotation and fallback order."""

from stargate.routing.router import ModelGroup, Router

__all__ = ["ModelGroup", "Router"]
