"""End to end: `qualitrace run` over the generated plant (the shared session run)."""

from __future__ import annotations

import re
import stat

import duckdb
import pytest

from orchestration.lib.publish import MARTS
from tests.support.contract import mart_columns

pytestmark = pytest.mark.integration



def test_run_exits_zero_with_progress_and_summary(pipeline_run):
    out = pipeline_run.output
    assert pipeline_run.returncode == 0, out[-4000:]
    progress = re.findall(r"^\[\s*(\d+)/(\d+)\] (\S+)", out, flags=re.MULTILINE)
    assert progress, out[-2000:]
    done, total = int(progress[-1][0]), int(progress[-1][1])
    assert done == total
    assert {"raw", "staging", "intermediate", "marts_build", "marts"} <= {
        key.split("/")[0] for _, _, key in progress}
    summary = out[out.index("\nsummary"):]
    for needle in ("rows per layer:", "checks:", "warehouse:", "marts (parquet):", "log:"):
        assert needle in summary, summary
    # one check count: the summary's figures are governance.check_results' and the report's
    m = re.search(r"checks: (\d+) \((\d+) passed, (\d+) WARN failed, (\d+) ERROR failed", summary)
    assert m, summary
    n, ok, warn, err = map(int, m.groups())
    assert n == ok + warn + err and err == 0
    con = duckdb.connect(str(pipeline_run.settings.warehouse), read_only=True)
    try:
        (run_id,), = con.execute("select run_id from governance.check_results "
                                 "order by checked_at desc limit 1").fetchall()
        assert con.execute("select count(*), count(*) filter (where passed) from "
                           "governance.check_results where run_id = ?", [run_id]
                           ).fetchone() == (n, ok)
    finally:
        con.close()
    report = (pipeline_run.settings.reports / "index.html").read_text(encoding="utf-8")
    assert f"<b>{ok}</b> passed, <b>{warn}</b> WARN failed" in report
    # top suspects carry their q-value and pass the false discovery rate
    tops = re.findall(r"lift\s+\S+\s+p \S+\s+q (\S+)", summary)
    assert tops and all(float(q) <= 0.05 for q in tops), summary
    # closing the loop: the open escalations and the holds, as the marts hold them
    con = duckdb.connect(str(pipeline_run.settings.warehouse), read_only=True)
    try:
        n_esc = con.execute("select count(*) from marts.escalations where status = 'open'"
                            ).fetchone()[0]
        n_holds, n_suspects = con.execute("select count(*), count(distinct suspect_kind || "
                                          "suspect_id) from marts.hold_list").fetchone()
        rule = con.execute("select rule from marts.escalations where status = 'open' limit 1"
                           ).fetchone()
    finally:
        con.close()
    assert f"escalations open: {n_esc}" in summary, summary
    assert f"holds: {n_holds} batches of {n_suspects} suspects" in summary, summary
    assert n_esc and rule[0] in summary and n_holds, "the demo plant should escalate and hold"
    assert (pipeline_run.settings.reports / "dashboard.html").exists()


def test_every_mart_published_with_contract_columns_and_parquet(pipeline_home):
    con = duckdb.connect(str(pipeline_home.warehouse), read_only=True)
    try:
        for mart in MARTS:
            cols = {r[0] for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'marts' and table_name = ?", [mart]).fetchall()}
            missing = set(mart_columns(mart)) - cols
            assert not missing, f"marts.{mart} lacks {sorted(missing)}"
            n = con.execute(f"select count(*) from marts.{mart}").fetchone()[0]
            parquet = pipeline_home.parquet_dir / f"{mart}.parquet"
            assert con.execute(f"select count(*) from read_parquet('{parquet}')"
                               ).fetchone()[0] == n
    finally:
        con.close()
    assert duckdb.connect(str(pipeline_home.warehouse), read_only=True).execute(
        "select count(*) from marts.complaint_trace").fetchone()[0] > 0


def test_home_salt_is_private(pipeline_home):
    salt = pipeline_home.home / "pii_salt"
    assert salt.exists()
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600


def test_full_log_written(pipeline_home):
    logs = list((pipeline_home.home / "logs").glob("run-*.log"))
    assert logs and any("ASSET_MATERIALIZATION" in p.read_text() for p in logs)


def test_every_layer_populated(pipeline_home):
    from orchestration.lib.runner import layer_rows
    rows = layer_rows(pipeline_home)
    for layer in ("raw", "staging", "intermediate", "governance", "marts_build", "marts"):
        assert rows.get(layer, 0) > 0, (layer, rows)


def test_every_published_column_is_explained_where_it_is_read(pipeline_home):
    """The serving database carries a COMMENT for every mart and column; every Parquet file
    carries the same descriptions as key-value metadata."""
    import json as _json

    from orchestration.lib.publish import serving_path

    con = duckdb.connect(str(serving_path(pipeline_home)), read_only=True)
    try:
        views = dict(con.execute("select view_name, comment from duckdb_views() "
                                 "where schema_name = 'marts'").fetchall())
        cols = con.execute("select table_name, column_name, comment from duckdb_columns() "
                           "where schema_name = 'marts'").fetchall()
    finally:
        con.close()
    assert set(MARTS) | {"escalations", "hold_list"} <= set(views)
    assert all(views[m] for m in views), views
    missing = [(t, c) for t, c, comment in cols if not comment]
    assert not missing, missing
    kv = {k.decode(): v.decode() for k, v in duckdb.execute(
        "select key, value from parquet_kv_metadata(?)",
        [str(pipeline_home.parquet_dir / "suspect_ranking.parquet")]).fetchall()}
    assert kv["qualitrace.table"] == "suspect_ranking"
    assert "q_value" in _json.loads(kv["qualitrace.columns"])


def test_duplicate_ids_have_a_list_twin(pipeline_home):
    from orchestration.lib.publish import serving_path

    con = duckdb.connect(str(serving_path(pipeline_home)), read_only=True)
    try:
        rows = con.execute("select duplicate_ids, duplicate_ids_list from marts.complaint_trace "
                           "where duplicate_ids is not null").fetchall()
    finally:
        con.close()
    assert rows and all(ids.split(",") == lst for ids, lst in rows)


def test_dbt_docs_site_opens_offline_and_documents_every_mart(pipeline_home):
    """`<home>/reports/docs/index.html`: dbt's static docs page (manifest and catalog inlined),
    written after publish, linked from the governance report, loading nothing remote."""
    page = pipeline_home.reports / "docs" / "index.html"
    assert page.exists(), sorted(p.name for p in pipeline_home.reports.iterdir())
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<(?:link|script|img)\b[^>]*(?:src|href)=[\"']https?://", text)
    for mart in MARTS:
        assert f'"model.qualitrace.{mart}"' in text, mart
    assert "Why the problem type was chosen" in text  # a column description, from model YAML
    assert '"problem_evidence": {"type": "VARCHAR"' in text  # types: the warehouse catalog
    report = (pipeline_home.reports / "index.html").read_text(encoding="utf-8")
    assert 'href="docs/index.html"' in report


def test_the_docs_catalog_is_the_one_dbt_writes(pipeline_home, tmp_path):
    """The docs page is assembled in the run's process (lib/dbt_docs.py); its catalog must be
    what `dbt docs generate` reads from the same warehouse: every model and source, relation
    types, column names, types and order."""
    import json
    import os
    import shutil
    import subprocess

    from orchestration.lib.dbt_docs import render_catalog
    from orchestration.lib.dbt_project import dbt_env, guarded_dbt_executable
    from orchestration.lib.settings import DBT_PROJECT_DIR
    from orchestration.lib.warehouse import connect

    settings = pipeline_home
    run_target = settings.dbt_target / "dbt_models"
    shutil.copy2(run_target / "manifest.json", tmp_path / "manifest.json")
    proc = subprocess.run(
        [str(guarded_dbt_executable(settings)), "docs", "generate", "--no-compile",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path), "--log-path", str(tmp_path), "--quiet"],
        check=False, env={**os.environ, **dbt_env(settings)}, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    dbt_catalog = json.loads((tmp_path / "catalog.json").read_text(encoding="utf-8"))
    with connect(settings, read_only=True) as con:
        ours = render_catalog(con, json.loads((run_target / "manifest.json").read_text()))
    for part in ("nodes", "sources"):
        assert list(ours[part]) == list(dbt_catalog[part]), part
        assert ours[part] == dbt_catalog[part], part
    assert len(ours["nodes"]) > 60 and "model.qualitrace.forward_trace" in ours["nodes"]


def test_the_cli_run_is_in_the_dagster_ui_with_its_checks(pipeline_home):
    """`qualitrace run` runs on the home's persistent instance: the UI that `qualitrace dev`
    serves lists the run, and its check evaluations are the ones in governance.check_results."""
    from tests.support.dagster_ui import ui_checks, ui_runs

    runs = [r for r in ui_runs(pipeline_home.dagster_home)
            if r.tags.get("qualitrace/launched_by") == "cli"]
    assert runs and runs[0].status == "SUCCESS", runs
    checks = ui_checks(pipeline_home.dagster_home, runs[0].run_id)
    with duckdb.connect(str(pipeline_home.warehouse), read_only=True) as con:
        recorded = {(a, c): p for a, c, p in con.execute(
            "select asset, check_name, passed from governance.check_results where run_id = ?",
            [runs[0].run_id]).fetchall()}
    assert len(checks) > 100, len(checks)
    # a GX suite is one Dagster check; governance.check_results has a row per expectation
    gx = {c for c in checks if c.check_name.startswith("gx_")}
    assert gx and {c.asset for c in gx} <= {a for a, _ in recorded}
    assert {(c.asset, c.check_name): c.passed for c in checks if c not in gx}.items() \
        <= recorded.items()


def test_dbt_tables_carry_the_row_counts_they_said_and_checks_follow_their_model(pipeline_home):
    """Each dbt table's materialization has Dagster's row count, said by the table in dbt's
    log while dbt held the warehouse (macros/adapters/report_row_count.sql): the table's rows.
    Events reach Dagster as dbt reports each node, a model before its tests, so each check
    result targets the model's materialization of the same run."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(pipeline_home.dagster_home))
    with duckdb.connect(str(pipeline_home.warehouse), read_only=True) as con:
        tables = set(con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in "
            "('staging', 'intermediate', 'governance', 'marts_build')").fetchall())
        counted = {}
        for schema, name in sorted(tables):
            event = instance.get_latest_materialization_event(dg.AssetKey([schema, name]))
            if event is not None:
                counted[(schema, name)] = (
                    event.asset_materialization.metadata.get("dagster/row_count"),
                    con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0])
    assert len(counted) > 30, counted
    assert {t: rows for t, (said, rows) in counted.items()} == \
        {t: getattr(said, "value", None) for t, (said, _rows) in counted.items()}
    for asset, check in [(("marts_build", "complaint_trace"), "unique_complaint_trace_complaint_id"),
                         (("intermediate", "int_complaints_distinct"),
                          "not_null_int_complaints_distinct_complaint_id")]:
        key = dg.AssetKey(list(asset))
        latest = instance.get_latest_materialization_event(key)
        [record] = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(key, check), limit=1)
        target = record.event.dagster_event.event_specific_data.target_materialization_data
        assert target is not None and target.run_id == latest.run_id == record.run_id
        assert target.timestamp == latest.timestamp
