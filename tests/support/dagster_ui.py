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

CHECKS = """query($runId: ID!) { logsForRun(runId: $runId) { __typename
  ... on EventConnection { events { __typename
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
    """The asset check evaluations of one run, as its run page lists them."""
    with ui(dagster_home) as process:
        data = _query(process, CHECKS, {"runId": run_id})["logsForRun"]
    assert data["__typename"] == "EventConnection", data
    return [UiCheck("/".join(e["evaluation"]["assetKey"]["path"]), e["evaluation"]["checkName"],
                    e["evaluation"]["success"], e["evaluation"]["severity"])
            for e in data["events"] if e["__typename"] == "AssetCheckEvaluationEvent"]
