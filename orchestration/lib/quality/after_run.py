"""After every run of the pipeline, however it started (CLI, UI, sensor, schedule) and
whether or not the gate stopped it: its Dagster check evaluations (dbt tests,
reconciliation, GX summaries) join `governance.check_results`, and the governance report
describes it. The `governance/report` asset does both inside a run that reaches it; a run
the gate stopped never reaches it, so the CLI (synchronously) and the
`governance_after_stopped_run` sensor (for UI, sensor and schedule runs) call `close_run`.
"""

from __future__ import annotations

from orchestration.lib.settings import Settings

REPORT_KEY = ("governance", "report")
LAUNCHED_BY_TAG = "qualitrace/launched_by"  # "cli" on runs `qualitrace run` started


def run_check_evaluations(instance, run_id: str) -> list:
    """The run's asset-check evaluations, as Dagster stored them."""
    import dagster as dg

    records = instance.get_records_for_run(
        run_id=run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    return [r.event_log_entry.dagster_event.event_specific_data for r in records
            if r.event_log_entry.dagster_event is not None]


def report_rendered_in(instance, run_id: str) -> bool:
    """Whether the run materialised `governance/report` itself."""
    import dagster as dg

    records = instance.get_records_for_run(
        run_id=run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    return any(tuple(r.event_log_entry.dagster_event.asset_key.path) == REPORT_KEY
               for r in records if r.event_log_entry.dagster_event is not None)


def close_run(settings: Settings, instance, run_id: str, render: bool = True) -> int:
    """Record the run's check evaluations (idempotent) and render the report unless the run
    did (or not `render`); returns the number of check results added."""
    from orchestration.lib.quality.report import render_report
    from orchestration.lib.quality.results import record_check_evaluations

    added = record_check_evaluations(settings, run_id, run_check_evaluations(instance, run_id))
    if render and not report_rendered_in(instance, run_id):
        render_report(settings)
    return added
