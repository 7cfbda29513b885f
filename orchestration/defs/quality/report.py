"""`governance/report`: the static governance report and GX Data Docs."""

from __future__ import annotations

import dagster as dg

from orchestration.lib.quality.report import render_report
from orchestration.lib.settings import get_settings


def _marts_keys() -> list[dg.AssetKey]:
    try:
        from orchestration.lib.publish import MARTS
    except Exception:  # noqa: BLE001 - publish area not there yet
        return []
    return [dg.AssetKey(["marts", m]) for m in MARTS]


@dg.asset(key=["governance", "report"], group_name="governance", deps=_marts_keys(),
          kinds={"python", "html"}, pool="warehouse",
          description="Governance report <home>/reports/index.html (latest run, trend, "
                      "quarantine, dictionary gaps, duplicates, missing rates) and GX Data Docs "
                      "<home>/reports/validation/. `qualitrace run` also renders it after a "
                      "blocked run.")
def governance_report() -> dg.MaterializeResult:
    settings = get_settings().ensure()
    path = render_report(settings)
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.path(str(path)),
        "data_docs": dg.MetadataValue.path(str(settings.reports / "validation" / "index.html")),
    })
