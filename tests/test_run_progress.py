"""The run log `qualitrace run` writes from Dagster's events: every event is written, and
written through at once at a step's start or end (a reader following the log sees them as
they happen), not at each of the many outputs and check results in between."""

import io
from types import SimpleNamespace

import pytest

from orchestration.lib.runner import LOG_FLUSH_S, RunProgress, flushes_log


class CountingLog(io.StringIO):
    def __init__(self):
        super().__init__()
        self.flushes = 0

    def flush(self):
        self.flushes += 1
        super().flush()


def _entry(kind: str, step: str = "dbt_models", message: str = "") -> SimpleNamespace:
    event = SimpleNamespace(event_type_value=kind, message=message, step_key=step)
    return SimpleNamespace(dagster_event=event, timestamp=1_700_000_000.0, step_key=step,
                           user_message=message)


@pytest.mark.parametrize("kind", ["STEP_START", "STEP_SUCCESS", "STEP_FAILURE",
                                  "STEP_SKIPPED", "PIPELINE_START", "RUN_SUCCESS"])
def test_a_step_or_run_boundary_is_written_through(kind):
    assert flushes_log(kind)


@pytest.mark.parametrize("kind", ["STEP_OUTPUT", "STEP_INPUT", "ASSET_MATERIALIZATION",
                                  "ASSET_CHECK_EVALUATION", "LOG", "ENGINE_EVENT"])
def test_outputs_checks_and_logs_wait_for_the_next_flush(kind):
    assert not flushes_log(kind)


def test_a_burst_of_outputs_is_written_but_flushed_once_at_the_step_end():
    log = CountingLog()
    progress = RunProgress(total_assets=3, out=io.StringIO(), log=log)
    progress(_entry("STEP_START", message='Started execution of step "dbt_models".'))
    after_start = log.flushes
    for i in range(200):
        progress(_entry("STEP_OUTPUT", message=f"Yielded output {i}"))
    assert log.flushes - after_start <= 1  # at most the once-a-second flush (LOG_FLUSH_S)
    progress(_entry("STEP_SUCCESS", message="Finished execution of step"))
    assert log.flushes >= after_start + 1
    written = log.getvalue().splitlines()
    assert len(written) == 202
    assert "Yielded output 199" in written[-2] and "STEP_SUCCESS" in written[-1]
    assert LOG_FLUSH_S > 0
