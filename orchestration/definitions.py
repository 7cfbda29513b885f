"""The Qualitrace code location: every area's `defs`, merged.

Areas live in `orchestration/defs/<area>/` and each exposes `defs = dg.Definitions(...)`
(in its package or one of its modules). Load with
`dagster dev -m orchestration.definitions` or `qualitrace dev`.
"""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg

AREAS = ("dictionary", "ingest", "dbt", "quality", "loop")


def area_defs(area: str) -> dg.Definitions:
    """The `defs` of `orchestration.defs.<area>`: the package's, else its modules' merged.

    A missing or empty area is an error: the code location never loads half-assembled.
    """
    name = f"orchestration.defs.{area}"
    package = importlib.import_module(name)
    found = getattr(package, "defs", None)
    if isinstance(found, dg.Definitions):
        return found
    parts = []
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        module = importlib.import_module(f"{name}.{info.name}")
        d = getattr(module, "defs", None)
        if isinstance(d, dg.Definitions):
            parts.append(d)
    if not parts:
        raise ImportError(f"{name} (orchestration/defs/{area}/) defines no "
                          f"`defs = dg.Definitions(...)`")
    return dg.Definitions.merge(*parts)


def gate_keys(defs: dg.Definitions) -> set[dg.AssetKey]:
    """Assets carrying a blocking stand-alone check (GX suites, reconciliation): the gate.

    dbt tests are left out: a failing dbt test already fails its `dbt build` step.
    """
    keys = set()
    for checks_def in defs.asset_checks or []:
        for spec in getattr(checks_def, "check_specs", []):
            if spec.blocking:
                keys.add(spec.asset_key)
    return keys


def build_defs() -> dg.Definitions:
    """The areas, then publish made to wait for the gate.

    Dagster holds back only the *direct* dependents of an asset whose blocking check
    failed, so publish depends directly on every gated asset: a failed ERROR check anywhere
    (staging, intermediate, governance) stops the published marts from changing. The marts
    themselves are built into `marts_build` (green) by the one `dbt build` step.
    """
    from orchestration.defs.publish import build_defs as publish_defs

    before = dg.Definitions.merge(*map(area_defs, AREAS))
    gate = gate_keys(before)
    # One process per run: steps share the warehouse file one after another, and a UI or
    # sensor run does not pay a code-location reload per step (about 40 s each here).
    executor = dg.Definitions(executor=dg.in_process_executor)
    return dg.Definitions.merge(before, publish_defs(gate), executor)


defs = build_defs()
