"""`governance_after_stopped_run`: a run the gate stopped (started from the UI, a sensor or a
schedule) still has its check results recorded and the governance report rendered, as
`qualitrace run` does for its own runs (see lib/quality/after_run.py)."""

import dagster as dg

from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.quality.after_run import LAUNCHED_BY_TAG, close_run


@dg.run_failure_sensor(
    name="governance_after_stopped_run", default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a failed or gate-stopped run: its Dagster check evaluations join "
                "governance.check_results and the governance report shows it. Runs of "
                "`qualitrace run` are left to the CLI, which does the same before it returns.")
def governance_after_stopped_run(context: dg.RunFailureSensorContext,
                                 qualitrace: QualitraceHome) -> None:
    run = context.dagster_run
    if run.tags.get(LAUNCHED_BY_TAG) == "cli":
        return
    added = close_run(qualitrace.settings(), context.instance, run.run_id)
    context.log.info(f"run {run.run_id}: {added} check results recorded, report rendered")
