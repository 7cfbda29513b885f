"""The GX checks as real Dagster asset checks: ERROR blocks downstream, WARN lets it run."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.defs.quality.checks import BLOCKING, WARNINGS, build_model_check
from orchestration.lib.quality import ERROR, WARN, ExpectationSpec
from orchestration.lib.settings import get_settings
from orchestration.lib.warehouse import connect
from tests.support.homes import home_resources

SPECS = [
    ExpectationSpec("not_null__batch", "not_null", ("batch",), ERROR),
    ExpectationSpec("pattern__batch", "match_regex", ("batch",), WARN,
                    {"regex": r"^\d{8}-L\d{2}-\d{3}$"}),
]


def build(settings, rows: list[str | None]):
    @dg.asset(key=["staging", "stg_test__batches"])
    def batches():
        with connect(settings) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS staging")
            con.execute("CREATE OR REPLACE TABLE staging.stg_test__batches (batch VARCHAR)")
            con.executemany("INSERT INTO staging.stg_test__batches VALUES (?)",
                            [(r,) for r in rows])

    @dg.asset(key=["marts_build", "test_mart"], deps=[batches.key])
    def mart():
        with connect(settings) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS marts_build")
            con.execute("CREATE OR REPLACE TABLE marts_build.test_mart AS "
                        "SELECT count(*) AS n FROM staging.stg_test__batches")

    return [batches, mart, build_model_check("stg_test__batches", SPECS)]


@pytest.fixture()
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("QUALITRACE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("QUALITRACE_ALERT_WEBHOOK", raising=False)
    return get_settings().ensure()


def run(settings, rows):
    result = dg.materialize(build(settings, rows), raise_on_error=False,
                            instance=dg.DagsterInstance.ephemeral(),
                            resources=home_resources(settings))
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    mats = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    return result, checks, mats


def test_error_check_blocks_downstream_and_names_the_check(settings):
    _, checks, mats = run(settings, ["20240315-L02-003", None])
    assert not checks[BLOCKING].passed
    assert checks[BLOCKING].severity == dg.AssetCheckSeverity.ERROR
    assert "not_null__batch" in (checks[BLOCKING].description or "")
    assert "marts_build/test_mart" not in mats
    with connect(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM governance.check_results WHERE "
                           "check_name = 'not_null__batch' AND NOT passed").fetchone()[0] == 1


def test_warn_check_alerts_and_lets_the_run_go_on(settings):
    _, checks, mats = run(settings, ["20240315-L02-003", "240315L2003"])
    assert checks[BLOCKING].passed
    assert not checks[WARNINGS].passed
    assert checks[WARNINGS].severity == dg.AssetCheckSeverity.WARN
    assert "marts_build/test_mart" in mats
    assert "pattern__batch" in settings.alerts_file.read_text(encoding="utf-8")


def build_two(settings, rows: list[str | None]):
    """Two guarded models in one `gx_checks` step; the mart reads both."""
    from orchestration.defs.quality.checks import build_gate_check

    @dg.asset(key=["staging", "stg_test__batches"])
    def batches():
        with connect(settings) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS staging")
            con.execute("CREATE OR REPLACE TABLE staging.stg_test__batches (batch VARCHAR)")
            con.executemany("INSERT INTO staging.stg_test__batches VALUES (?)",
                            [(r,) for r in rows])

    @dg.asset(key=["staging", "stg_test__lines"])
    def lines():
        with connect(settings) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS staging")
            con.execute("CREATE OR REPLACE TABLE staging.stg_test__lines AS "
                        "SELECT 'L01' AS line")

    @dg.asset(key=["marts_build", "test_mart"], deps=[batches.key, lines.key])
    def mart():
        with connect(settings) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS marts_build")
            con.execute("CREATE OR REPLACE TABLE marts_build.test_mart AS SELECT 1 AS n")

    gate = build_gate_check({
        "stg_test__batches": SPECS,
        "stg_test__lines": [ExpectationSpec("not_null__line", "not_null", ("line",), ERROR)]})
    return [batches, lines, mart, gate]


def test_one_step_for_every_model_blocks_on_any_error(settings):
    result = dg.materialize(build_two(settings, ["20240315-L02-003", None]),
                            raise_on_error=False, instance=dg.DagsterInstance.ephemeral(),
                            resources=home_resources(settings))
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert {s for s in steps if s.startswith("gx_")} == {"gx_checks"}
    checks = {(e.asset_key.path[-1], e.check_name): e
              for e in result.get_asset_check_evaluations()}
    assert not checks[("stg_test__batches", BLOCKING)].passed
    assert checks[("stg_test__lines", BLOCKING)].passed
    assert set(checks) == {(m, c) for m in ("stg_test__batches", "stg_test__lines")
                           for c in (BLOCKING, WARNINGS)}
    mats = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "marts_build/test_mart" not in mats
    with connect(settings, read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT asset), count(DISTINCT run_id) "
                           "FROM governance.check_results").fetchone() == (2, 1)


def test_a_selected_subset_runs_only_its_models_checks(settings):
    assets = build_two(settings, ["20240315-L02-003", None])
    dg.materialize(assets, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
                   resources=home_resources(settings))
    with connect(settings) as con:
        con.execute("DELETE FROM governance.check_results")
    result = dg.materialize(assets, selection=[dg.AssetKey(["staging", "stg_test__lines"])],
                            instance=dg.DagsterInstance.ephemeral(),
                            resources=home_resources(settings))
    assert {(e.asset_key.path[-1], e.check_name)
            for e in result.get_asset_check_evaluations()} == {
        ("stg_test__lines", BLOCKING), ("stg_test__lines", WARNINGS)}
    with connect(settings, read_only=True) as con:
        assert con.execute("SELECT DISTINCT asset FROM governance.check_results"
                           ).fetchall() == [("staging/stg_test__lines",)]


def test_a_run_started_anywhere_records_its_dagster_checks_once_and_reports_them(settings):
    """The report asset records the run's dbt-style asset checks (a UI or sensor run has no CLI
    to do it), and the CLI's own recording afterwards adds nothing twice."""
    from orchestration.defs.quality.report import governance_report
    from orchestration.lib.quality.results import record_check_evaluations

    key = dg.AssetKey(["marts", "complaint_trace"])
    test_name = "not_null_complaint_trace_complaint_id"

    # like dbt: the test's evaluation comes out of the same step as the model
    @dg.asset(key=key, check_specs=[dg.AssetCheckSpec(test_name, asset=key)])
    def published():
        with connect(settings) as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS marts")
            con.execute("CREATE OR REPLACE TABLE marts.complaint_trace AS SELECT 1 AS n")
        return dg.MaterializeResult(check_results=[dg.AssetCheckResult(
            check_name=test_name, passed=False, severity=dg.AssetCheckSeverity.WARN,
            description="2 rows with a NULL complaint_id")])

    result = dg.materialize([published, governance_report], raise_on_error=False,
                            instance=dg.DagsterInstance.ephemeral(),
                            resources=home_resources(settings))
    assert result.success
    with connect(settings, read_only=True) as con:
        rows = con.execute("SELECT run_id, check_name, asset, severity, passed, message FROM "
                           "governance.check_results WHERE kind = 'dagster_check'").fetchall()
    assert rows == [(result.run_id, "not_null_complaint_trace_complaint_id",
                     "marts/complaint_trace", WARN, False, "2 rows with a NULL complaint_id")]
    page = (settings.reports / "index.html").read_text(encoding="utf-8")
    assert "not_null_complaint_trace_complaint_id" in page and "<b>1</b> WARN failed" in page
    again = record_check_evaluations(settings, result.run_id, result.get_asset_check_evaluations())
    assert again == 0
