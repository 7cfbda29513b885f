"""A run with nothing new skips dbt, the gate and publish; any change of input brings them back."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from orchestration.lib import freshness
from orchestration.lib.pii import pii_salt
from orchestration.lib.settings import DICTIONARY_DIR, get_settings
from tests.support.homes import copy_home, marts_digest, query
from tests.support.runs import run_pipeline

pytestmark = pytest.mark.integration


@pytest.fixture()
def home(pipeline_home, tmp_path):
    return copy_home(pipeline_home, tmp_path / "home")


def test_successful_run_records_what_it_published(pipeline_home):
    record = freshness.load_published(pipeline_home)
    assert record is not None
    assert record["fingerprint"] == freshness.inputs_fingerprint(
        pipeline_home, pii_salt(pipeline_home))


def test_no_change_run_skips_dbt_gate_and_publish(home):
    before = marts_digest(home)
    parquet_mtimes = {p.name: p.stat().st_mtime_ns for p in home.parquet_dir.glob("*.parquet")}
    run = run_pipeline(home.home, home.exports)
    assert run.returncode == 0, run.output[-3000:]
    assert "dbt_models: nothing changed since run" in run.output
    assert "dbt built" not in run.output and "publish_marts" not in run.output
    assert "assets materialised: 17/" in run.output  # the dictionary and the 16 ingests
    assert marts_digest(home) == before
    assert {p.name: p.stat().st_mtime_ns
            for p in home.parquet_dir.glob("*.parquet")} == parquet_mtimes
    assert freshness.load_published(home) is not None  # still current for the next run


def test_a_landed_file_changes_the_fingerprint(home):
    fp = freshness.inputs_fingerprint(home, pii_salt(home))
    con = duckdb.connect(str(home.warehouse))
    con.execute("update raw._file_manifest set sha256 = 'x' || sha256 "
                "where path = (select min(path) from raw._file_manifest)")
    con.close()
    assert freshness.inputs_fingerprint(home, pii_salt(home)) != fp


def test_salt_dictionary_and_missing_marts_change_the_decision(home, tmp_path, monkeypatch):
    fp = freshness.inputs_fingerprint(home, pii_salt(home))
    assert freshness.inputs_fingerprint(home, "another-salt") != fp
    copy = tmp_path / "dictionary"
    shutil.copytree(DICTIONARY_DIR, copy)
    units = copy / "units.yml"
    units.write_text(units.read_text(encoding="utf-8") + "\n# a plant's edit\n",
                     encoding="utf-8")
    monkeypatch.setenv("QUALITRACE_DICTIONARY", str(copy))
    assert freshness.inputs_fingerprint(home, pii_salt(home)) != fp
    monkeypatch.delenv("QUALITRACE_DICTIONARY")
    assert freshness.load_published(home) is not None
    next(home.parquet_dir.glob("*.parquet")).unlink()
    assert freshness.load_published(home) is None  # nothing to serve: rebuild


def test_forced_or_drill_runs_never_skip(home, monkeypatch):
    monkeypatch.setenv("QUALITRACE_INJECT_FAILURE", "not_null__x")
    assert not freshness.skip_allowed()
    monkeypatch.delenv("QUALITRACE_INJECT_FAILURE")
    assert freshness.skip_allowed()
    record = json.loads(freshness.state_path(home).read_text())
    assert record["run_id"]


def test_a_run_started_from_the_ui_skips_the_same_way(home, monkeypatch):
    """The decision is the pipeline's, not the CLI's: the whole asset job launched as the UI
    launches it ingests, builds nothing in dbt, and Dagster skips the gate and publish."""
    import dagster as dg

    from orchestration.lib.runner import home_instance
    from tests.support.dagster_ui import launch_run

    monkeypatch.setenv("QUALITRACE_HOME", str(home.home))
    monkeypatch.setenv("QUALITRACE_EXPORTS", str(home.exports))
    before, published = marts_digest(home), freshness.load_published(home)
    instance = home_instance(home)
    instance.dispose()
    run_id = launch_run(home.dagster_home)
    instance = home_instance(home)
    try:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        records = instance.get_records_for_run(run_id).records
        logs = [r.event_log_entry.user_message for r in records]
        assert any(m.startswith(freshness.UNCHANGED_PREFIX) for m in logs)
        kinds = {(r.event_log_entry.step_key, r.event_log_entry.dagster_event_type)
                 for r in records if r.event_log_entry.is_dagster_event}
        assert ("publish_marts", dg.DagsterEventType.STEP_SKIPPED) in kinds
        materialized = {r.event_log_entry.dagster_event.asset_key.path[0] for r in records
                        if r.event_log_entry.dagster_event_type
                        == dg.DagsterEventType.ASSET_MATERIALIZATION}
        assert materialized == {"dictionary", "raw"}
    finally:
        instance.dispose()
    assert marts_digest(home) == before
    assert freshness.load_published(home) == published


# A delivery written by hand, in the contract's English headers, as a CRM might send one late
# in the day: a new complaint in a customer's words and an update of one already landed.
_NEW_COMPLAINTS = (
    "complaint_id,channel,received_at,customer_name,customer_phone,province,product_model,"
    "serial_no,batch_no,description,severity,status,updated_at,closed_at\n"
    "CS0990001,hotline,2024-06-30 09:12:00,Ma Jun,13912345678,Zhejiang,{model},,{batch},"
    "\"Unit gets really hot near the vent after an hour, smells a bit\",high,open,"
    "2024-06-30 09:12:00,\n"
    "{first_id},web,2024-06-30 10:00:00,Ma Jun,13912345678,Zhejiang,{model},,,"
    "\"Still broken after the repair, screen stays black\",medium,in progress,"
    "2024-06-30 10:00:00,\n"
)


def _verdicts(settings, run_id: str) -> set[tuple]:
    return set(query(settings, "select check_name, asset, passed, severity from "
                               "governance.check_results where run_id = ?", [run_id]))


def _partial_equals_rebuild(home, reached: str) -> None:
    """Run the pipeline (a partial rebuild reaching `reached`), then `--rebuild`: the published
    marts (table and Parquet) and every check verdict of the two runs are the same."""
    partial = run_pipeline(home.home, home.exports)
    assert partial.returncode == 0, partial.output[-3000:]
    assert f"rebuilding only what depends on {reached}:" in partial.output, partial.output[-3000:]
    assert "unchanged" in partial.output  # the models left out, listed as such
    partial_run = freshness.load_published(home)["run_id"]
    after_partial, verdicts = marts_digest(home), _verdicts(home, partial_run)
    assert len(verdicts) > 100  # every dbt test and Dagster check, not only the rebuilt ones

    full = run_pipeline(home.home, home.exports, "--rebuild")
    assert full.returncode == 0, full.output[-3000:]
    assert "rebuilding only" not in full.output
    full_run = freshness.load_published(home)["run_id"]
    assert full_run != partial_run
    assert marts_digest(home) == after_partial
    assert marts_digest(home, "parquet") == after_partial
    assert verdicts == _verdicts(home, full_run)


def test_a_new_complaints_file_rebuilds_only_what_it_reaches_with_a_full_builds_result(
        pipeline_home, tmp_path):
    """One new CRM file: the dbt step rebuilds the models downstream of the complaints and the
    file ledger, reports the others as they stand with their test verdicts, publishes. Then a
    re-delivery that supersedes that file, then a late file of another entity, each a partial
    run building on what the one before left standing; after the three, the marts and every
    check verdict equal those of a full rebuild of the same exports. (One rebuild for the
    chain, not one per step: each run of the pipeline costs 30-50 s of the suite.)"""
    exports = tmp_path / "exports"
    shutil.copytree(pipeline_home.exports, exports)
    home = get_settings(copy_home(pipeline_home, tmp_path / "home").home, exports)
    model, batch, first_id = query(
        home, "select product_model, batch_code, complaint_id from marts.complaint_trace "
              "where batch_code is not null order by complaint_id limit 1")[0]
    delivery = exports / "crm" / "complaints_20240630.csv"
    delivery.write_text(_NEW_COMPLAINTS.format(model=model, batch=batch, first_id=first_id),
                        encoding="utf-8")
    first = run_pipeline(home.home, exports)
    assert first.returncode == 0, first.output[-3000:]
    assert ("rebuilding only what depends on raw._file_manifest, raw.crm__complaints:"
            in first.output), first.output[-3000:]
    assert "staging tests judged file by file read the files delivered since (1)" \
        in first.output  # the new file only (tests/test_dbt_test_scope.py)
    assert "unchanged" in first.output  # the models left out, listed as such
    assert query(home, "select count(*) from marts.complaint_trace "
                       "where complaint_id = 'CS0990001'") == [(1,)]

    # then two more partial runs: a corrected re-delivery of that file (same name: it
    # supersedes the first version), then a late machine-master file for an old day (a new
    # machine, one restated)
    delivery.write_text(_NEW_COMPLAINTS.format(model=model, batch=batch, first_id=first_id)
                        .replace(",open,", ",closed,"), encoding="utf-8")
    redelivered = run_pipeline(home.home, exports)
    assert redelivered.returncode == 0, redelivered.output[-3000:]
    assert ("rebuilding only what depends on raw._file_manifest, raw.crm__complaints:"
            in redelivered.output), redelivered.output[-3000:]
    machine, kind, line = query(home, "select equipment_id, equipment_type, line from "
                                      "staging.stg_mes__equipment order by 1 limit 1")[0]
    (exports / "mes" / "equipment_20231201.csv").write_text(
        "equipment_id,equipment_name,equipment_type,line\n"
        f"{machine},restated name,{kind},{line}\nEQ-LATE-01,late arrival,{kind},{line}\n",
        encoding="utf-8")
    _partial_equals_rebuild(home, "raw._file_manifest, raw.mes__equipment")
    assert query(home, "select status from raw._file_manifest where path = "
                       "'crm/complaints_20240630.csv' order by status") == [("loaded",),
                                                                             ("superseded",)]
    assert query(home, "select distinct status from staging.stg_crm__complaints "
                       "where complaint_id = 'CS0990001'") == [("closed",)]
    assert query(home, "select count(*) from staging.stg_mes__equipment "
                       "where equipment_id = 'EQ-LATE-01'") == [(1,)]
