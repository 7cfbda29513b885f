"""Acceptance of the quality gate on the generator's plant (session pipeline fixtures).

- the planted duplicates (same complaint twice, a re-delivered file) and missing required
  fields raise their alerts, each exactly once, and a re-run repeats none of them;
- a real ERROR failure (a delivery whose product_model is mostly blank, over the
  dictionary's error threshold) exits non-zero naming the check and leaves the previously
  published marts unchanged;
- the report and the Data Docs exist and render in headless Chromium.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from tests.support.browser import dump_dom, ensure_chromium, text_of
from tests.support.homes import home_resources, query

pytestmark = pytest.mark.integration  # builds dbt over a plant

DUP_KEY = "duplicate_complaints|intermediate/int_complaints_deduplicated|"
REDELIVERED_KEY = "redelivered_files|governance/file_manifest|"


def read_alert_lines(home: Path) -> list[dict]:
    path = home / "alerts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def marts_fingerprint(settings) -> dict:
    """Row count and a content hash per published mart, plus the Parquet files' hashes."""
    out = {}
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
            "ORDER BY 1").fetchall()]
        for t in tables:
            n, h = con.execute(f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM marts."{t}" t'
                               ).fetchone()
            out[f"marts.{t}"] = (n, h)
    finally:
        con.close()
    for p in sorted(settings.parquet_dir.glob("*.parquet")):
        out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_planted_duplicates_raise_one_alert_each(pipeline_home, plant):
    assert plant.truth.get("duplicate_groups"), "the plant has no planted duplicate complaints"
    lines = read_alert_lines(pipeline_home.home)
    keys = Counter(a["dedup_key"] for a in lines)
    assert all(n == 1 for n in keys.values()), f"alerts delivered twice: {keys}"
    dup = [a for a in lines if a["dedup_key"].startswith(DUP_KEY)]
    assert len(dup) == 1 and dup[0]["severity"] == "WARN"
    some_group = plant.truth["duplicate_groups"][0]
    assert any(i in dup[0]["message"] for i in some_group) or dup[0]["observed_value"] >= 1
    # one row per distinct complaint entered more than once
    assert dup[0]["observed_value"] == len(plant.truth["duplicate_groups"])
    if plant.truth.get("redelivered_files"):
        red = [a for a in lines if a["dedup_key"].startswith(REDELIVERED_KEY)]
        assert len(red) == 1
        for f in plant.truth["redelivered_files"]:
            assert f["path"] in red[0]["message"]


def test_planted_missing_fields_raise_alerts(pipeline_home, plant):
    planted = [r for r in plant.truth.get("quarantine", {}).get("rows", [])
               if r["reason_code"] == "missing_required_field"]
    assert planted, "the plant has no planted missing required fields"
    entities = {(r["path"].split("/")[0], re.match(r"(.+?)_\d{8}", Path(r["path"]).name)[1])
                for r in planted}
    open_alerts = [r[0] for r in query(
        pipeline_home, "SELECT dedup_key FROM governance.alerts WHERE resolved_at IS NULL")]
    for system, entity in entities:
        asset = f"staging/stg_{system}__{entity}"
        assert any(k.startswith("missing_required__") and f"|{asset}|" in k
                   for k in open_alerts), f"no missing-field alert on {asset}: {open_alerts}"


def test_check_results_history_is_recorded(pipeline_home):
    rows = query(pipeline_home, "SELECT count(DISTINCT run_id), count(*), "
                                "count(DISTINCT asset) FROM governance.check_results")
    runs, checks, assets = rows[0]
    assert runs >= 1 and checks > 50 and assets >= 16


def test_report_and_data_docs_render(pipeline_home, tmp_path):
    chromium = ensure_chromium()
    index = pipeline_home.reports / "index.html"
    docs = pipeline_home.reports / "validation" / "index.html"
    assert index.exists() and docs.exists()
    text = text_of(dump_dom(chromium, index, tmp_path / "p1"))
    assert "Qualitrace governance report" in text
    for section in ("Checks by status", "Trend", "Rows quarantined by reason", "Dictionary gaps",
                    "Duplicates per source", "Missing-field rates per source"):
        assert section in text
    assert "duplicate_complaints" in text
    assert "stg_crm__complaints" in dump_dom(chromium, docs, tmp_path / "p2")


# the whole chain raw -> base -> stg, so a new complaints file reaches staging before the gate
GATED_SELECTION = [["raw", "crm__complaints"], ["staging", "base_crm__complaints"],
                   ["staging", "stg_crm__complaints"]]


def home_with_blank_models(pipeline_home, plant, home: Path, exports: Path):
    """A copy of the shared run's home and exports plus a complaints delivery whose
    product_model is all blank: more than the dictionary's error threshold."""
    from orchestration.lib.settings import get_settings

    shutil.copytree(pipeline_home.home, home,
                    ignore=shutil.ignore_patterns("logs", "dbt", ".*.lock", "dagster"))
    shutil.copytree(plant.exports, exports)
    n = len(plant.truth.get("complaints", {})) + 50
    with (exports / "crm" / "complaints_20991231.csv").open("w", newline="",
                                                            encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["complaint_id", "channel", "received_at", "customer_name", "province",
                    "product_model", "description", "status"])
        for i in range(n):
            w.writerow([f"ZZ{i:07d}", "hotline", f"2024-02-{1 + i % 27:02d} 10:{i % 60:02d}:00",
                        f"客户{i}", "广东", "", f"第{i}号投诉：屏幕划痕", "open"])
    return get_settings(home, exports)


def test_error_failure_blocks_marts_and_names_the_check(pipeline_home, plant, tmp_path,
                                                        monkeypatch):
    """A real ERROR: a new delivery whose product_model is mostly blank pushes the share of
    blanks over the dictionary's error threshold. The run stops before marts_build, exits
    EXIT_BLOCKED naming the check, and the published marts stay as they were."""
    from orchestration.lib.publish import MARTS
    from orchestration.lib.runner import EXIT_BLOCKED, run

    home, exports = tmp_path / "home", tmp_path / "exports"
    settings = home_with_blank_models(pipeline_home, plant, home, exports)
    before = marts_fingerprint(settings)
    assert before, "no published marts after the first run"
    alerts_before = len(read_alert_lines(home))

    monkeypatch.setenv("QUALITRACE_HOME", str(home))
    monkeypatch.setenv("QUALITRACE_EXPORTS", str(exports))
    out = io.StringIO()
    selection = GATED_SELECTION + [[layer, m] for m in MARTS
                                   for layer in ("marts_build", "marts")]
    code = run(settings, out, selection=selection)
    text = out.getvalue()
    assert code == EXIT_BLOCKED, text[-4000:]
    assert "missing_rate__product_model" in text, text[-4000:]
    assert marts_fingerprint(settings) == before
    failed = query(settings, "SELECT check_name, severity FROM governance.check_results WHERE "
                             "run_id = (SELECT run_id FROM governance.check_results ORDER BY "
                             "checked_at DESC LIMIT 1) AND NOT passed AND severity = 'ERROR'")
    assert ("missing_rate__product_model", "ERROR") in failed
    new = read_alert_lines(home)[alerts_before:]
    assert [a["dedup_key"] for a in new if a["dedup_key"].startswith(DUP_KEY)] == []
    assert any(a["dedup_key"].startswith("missing_rate__product_model|") for a in new)


def test_a_run_started_from_the_ui_fills_check_results_and_the_report(
        pipeline_home, plant, tmp_path, monkeypatch):
    """The same gate-stopped run, launched as the UI launches it (GraphQL, Dagster's run
    launcher): Dagster stops it at the failing check, and the governance_after_stopped_run
    sensor (the Dagster daemon runs it under `qualitrace dev`) records its check evaluations
    in governance.check_results and renders the report, as `qualitrace run` does."""
    import dagster as dg

    from orchestration.defs.quality.sensors import governance_after_stopped_run
    from orchestration.lib.runner import home_instance
    from tests.support.dagster_ui import launch_run, ui_checks, ui_runs

    settings = home_with_blank_models(pipeline_home, plant, tmp_path / "home",
                                      tmp_path / "exports")
    monkeypatch.setenv("QUALITRACE_HOME", str(settings.home))
    monkeypatch.setenv("QUALITRACE_EXPORTS", str(settings.exports))
    home_instance(settings).dispose()  # <home>/dagster as `qualitrace dev` makes it
    from orchestration.lib.publish import MARTS

    run_id = launch_run(settings.dagster_home, GATED_SELECTION + [
        [layer, m] for m in MARTS for layer in ("marts_build", "marts")])
    assert [(r.run_id, r.status) for r in ui_runs(settings.dagster_home)] == \
        [(run_id, "FAILURE")]
    checks = ui_checks(settings.dagster_home, run_id)
    assert any(c.check_name == "gx_blocking" and not c.passed for c in checks), checks

    instance = home_instance(settings)
    try:
        failure = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[-1]
        context = dg.build_run_status_sensor_context(
            sensor_name="governance_after_stopped_run",
            dagster_event=failure.event_log_entry.dagster_event, dagster_instance=instance,
            dagster_run=instance.get_run_by_id(run_id),
            resources=home_resources(settings)).for_run_failure()
        governance_after_stopped_run(context)
    finally:
        instance.dispose()
    recorded = query(settings, "SELECT asset, check_name, passed, kind FROM "
                               "governance.check_results WHERE run_id = ?", [run_id])
    assert ("staging/stg_crm__complaints", "missing_rate__product_model", False,
            "missing_rate") in recorded
    dagster_checks = {(a, c): p for a, c, p, k in recorded if k == "dagster_check"}
    assert dagster_checks and dagster_checks == {
        (c.asset, c.check_name): c.passed for c in checks if not c.check_name.startswith("gx_")}
    report = (settings.reports / "index.html").read_text(encoding="utf-8")
    assert f'<code id="latest-run">{run_id}</code>' in report
