"""The Qualitrace code location: every area of `orchestration/defs/`, loaded from the defs folder.

Each area folder (`dictionary`, `ingest`, `dbt`, `quality`, `publish`, `loop`) has a
`definitions.py` holding its `defs = dg.Definitions(...)`; `dg.load_from_defs_folder` finds
them through pyproject.toml's `[tool.dg.project] defs_module` (a
`definitions.py` ends the search in its folder, so an area's modules are not scanned twice).
Publish waits for the gate: its `definitions.py` makes every published mart depend directly
on every asset that carries a blocking check (see `defs/publish`). Load with
`dagster dev -m orchestration.definitions` or `qualitrace dev`.
"""

from __future__ import annotations

import dagster as dg

from orchestration.lib.settings import REPO_ROOT


def build_defs() -> dg.Definitions:
    """The areas, and one process per run: steps share the warehouse file one after another,
    and a UI or sensor run does not pay a code-location reload per step (about 40 s each)."""
    return dg.Definitions.merge(dg.load_from_defs_folder(path_within_project=REPO_ROOT),
                                dg.Definitions(executor=dg.in_process_executor))


defs = build_defs()
