"""`governance/report`: the static governance report and GX Data Docs."""


import dagster as dg

from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.quality.after_run import run_check_evaluations
from orchestration.lib.quality.report import render_report
from orchestration.lib.quality.results import record_check_evaluations


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
                      "<home>/reports/validation/. After a run the gate stopped, `qualitrace "
                      "run` or the governance_after_stopped_run sensor renders it.")
def governance_report(context: dg.AssetExecutionContext,
                      qualitrace: QualitraceHome) -> dg.MaterializeResult:
    settings = qualitrace.settings()
    # every way a run starts (CLI, UI, sensor) records its dbt tests and other Dagster checks
    # before the report counts them: one check count per run, wherever it is read
    recorded = record_check_evaluations(settings, context.run.run_id,
                                        run_check_evaluations(context.instance, context.run.run_id))
    path = render_report(settings)
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.path(str(path)), "dagster_checks_recorded": recorded,
        "data_docs": dg.MetadataValue.path(str(settings.reports / "validation" / "index.html")),
    })
