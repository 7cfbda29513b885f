"""A run with nothing new skips dbt, the gate and publish; any change of input brings them back."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from orchestration.lib import freshness
from orchestration.lib.pii import pii_salt
from orchestration.lib.settings import DICTIONARY_DIR
from tests.support.homes import copy_home, marts_digest
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
