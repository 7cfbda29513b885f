"""Publish area: the blue/green swap of the marts (`build_defs(gate)`)."""

from orchestration.defs.publish.assets import build_defs, build_publish

__all__ = ["build_defs", "build_publish"]
