"""`governance/report`: the static governance report and GX Data Docs."""


import dagster as dg

from orchestration.lib.quality.report import render_report
from orchestration.lib.quality.results import record_check_evaluations
from orchestration.lib.settings import get_settings


def _marts_keys() -> list[dg.AssetKey]:
    try:
        from orchestration.lib.publish import MARTS
    except Exception:  # noqa: BLE001 - publish area not there yet
        return []
    return [dg.AssetKey(["marts", m]) for m in MARTS]


def _run_check_evaluations(context: dg.AssetExecutionContext) -> list:
    """This run's asset-check evaluations so far (dbt tests, reconciliation, GX summaries)."""
    conn = context.instance.get_records_for_run(
        run_id=context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return [r.event_log_entry.dagster_event.event_specific_data for r in conn.records
            if r.event_log_entry.dagster_event is not None]


@dg.asset(key=["governance", "report"], group_name="governance", deps=_marts_keys(),
          kinds={"python", "html"}, pool="warehouse",
          description="Governance report <home>/reports/index.html (latest run, trend, "
                      "quarantine, dictionary gaps, duplicates, missing rates) and GX Data Docs "
                      "<home>/reports/validation/. `qualitrace run` also renders it after a "
                      "blocked run.")
def governance_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings().ensure()
    # every way a run starts (CLI, UI, sensor) records its dbt tests and other Dagster checks
    # before the report counts them: one check count per run, wherever it is read
    recorded = record_check_evaluations(settings, context.run.run_id, _run_check_evaluations(context))
    path = render_report(settings)
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.path(str(path)), "dagster_checks_recorded": recorded,
        "data_docs": dg.MetadataValue.path(str(settings.reports / "validation" / "index.html")),
    })
