"""What the Dagster UI shows for a home: its runs and their check evaluations, read through
the UI's own GraphQL API over the home's instance (`<home>/dagster`), as `qualitrace dev`
serves it. No code location is loaded: runs and their events live in the instance."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import EmptyWorkspaceTarget
from dagster_graphql.test.utils import execute_dagster_graphql

RUNS = """query { runsOrError { __typename ... on Runs { results {
  runId status tags { key value } } } } }"""

CHECKS = """query($runId: ID!, $afterCursor: String) {
  logsForRun(runId: $runId, afterCursor: $afterCursor) { __typename
  ... on EventConnection { cursor hasMore events { __typename
    ... on AssetCheckEvaluationEvent { evaluation {
      checkName success severity assetKey { path } } } } } } }"""


@dataclass(frozen=True)
class UiRun:
    run_id: str
    status: str
    tags: dict[str, str]


@dataclass(frozen=True)
class UiCheck:
    asset: str  # "staging/stg_crm__complaints"
    check_name: str
    passed: bool
    severity: str


@contextmanager
def ui(dagster_home: Path):
    """A GraphQL request context over the instance at `dagster_home`."""
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        with WorkspaceProcessContext(instance, EmptyWorkspaceTarget()) as process:
            yield process
    finally:
        instance.dispose()


def _query(process, query: str, variables: dict | None = None) -> dict:
    result = execute_dagster_graphql(process.create_request_context(), query, variables)
    assert not result.errors, result.errors
    return result.data


def ui_runs(dagster_home: Path) -> list[UiRun]:
    """The run list, newest first."""
    with ui(dagster_home) as process:
        data = _query(process, RUNS)["runsOrError"]
    assert data["__typename"] == "Runs", data
    return [UiRun(r["runId"], r["status"], {t["key"]: t["value"] for t in r["tags"]})
            for r in data["results"]]


def ui_checks(dagster_home: Path, run_id: str) -> list[UiCheck]:
    """The asset check evaluations of one run, as its run page lists them (the UI loads a
    run's events in pages of 1,000; a run of the pipeline has more)."""
    events, cursor = [], None
    with ui(dagster_home) as process:
        while True:
            data = _query(process, CHECKS, {"runId": run_id, "afterCursor": cursor})["logsForRun"]
            assert data["__typename"] == "EventConnection", data
            events += data["events"]
            if not data["hasMore"]:
                break
            cursor = data["cursor"]
    return [UiCheck("/".join(e["evaluation"]["assetKey"]["path"]), e["evaluation"]["checkName"],
                    e["evaluation"]["success"], e["evaluation"]["severity"])
            for e in events if e["__typename"] == "AssetCheckEvaluationEvent"]


LAUNCH = """mutation($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) { __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } } } }"""


def launch_run(dagster_home: Path, asset_selection: list[list[str]] | None = None,
               job: str = "__ASSET_JOB", tags: dict[str, str] | None = None,
               timeout: float = 600) -> str:
    """Launch `job` (the asset job on `asset_selection`, or a job with `tags` such as
    `dagster/partition`) as the UI's "Materialize" button does (GraphQL
    `launchPipelineExecution` through the code location `qualitrace`, run by Dagster's run
    launcher in its own process); dequeue it as the daemon does; wait for the run to end;
    return its run id. The code
    location and the run read QUALITRACE_HOME / QUALITRACE_EXPORTS from the environment."""
    import time

    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
        QueuedRunCoordinatorDaemon,
    )
    from dagster_graphql.test.utils import infer_job_selector

    from tests.support.runs import REPO_ROOT

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    target = ModuleTarget(module_name="orchestration.definitions", attribute=None,
                          working_directory=str(REPO_ROOT), location_name="qualitrace")
    try:
        with WorkspaceProcessContext(instance, target) as process:
            request = process.create_request_context()
            selector = infer_job_selector(
                request, job, asset_selection=None if asset_selection is None
                else [{"path": p} for p in asset_selection])
            data = _query(process, LAUNCH, {"executionParams": {
                "selector": selector, "runConfigData": {}, "mode": "default",
                "executionMetadata": {"tags": [{"key": k, "value": v}
                                               for k, v in (tags or {}).items()]}}})
            launched = data["launchPipelineExecution"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            run_id = launched["run"]["runId"]
            # the home's instance queues runs (one at a time); under `qualitrace dev` the
            # Dagster daemon dequeues them: here one pass of the same daemon code does
            with QueuedRunCoordinatorDaemon(interval_seconds=1) as daemon:
                deadline = time.monotonic() + timeout
                while not (run := instance.get_run_by_id(run_id)).is_finished:
                    assert time.monotonic() < deadline, \
                        f"run {run_id} still {run.status.value} after {timeout}s"
                    if run.status == dg.DagsterRunStatus.QUEUED:
                        list(daemon.run_iteration(process))
                    time.sleep(1)
            return run_id
    finally:
        instance.dispose()
