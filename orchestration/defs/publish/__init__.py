"""Publish area: the blue/green swap of the marts."""

from orchestration.defs.publish.assets import defs

__all__ = ["defs"]
