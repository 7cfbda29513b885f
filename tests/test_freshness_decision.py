"""The skip decision of the pipeline's dbt step (lib/freshness.before_build / after_publish)."""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.lib import freshness
from orchestration.lib.publish import MARTS
from orchestration.lib.settings import get_settings


@pytest.fixture()
def settings(tmp_path):
    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    con = duckdb.connect(str(s.warehouse))
    con.execute("create schema raw")
    con.execute("create table raw._file_manifest (path varchar, sha256 varchar, status varchar, "
                "rows_read int, rows_landed int, rows_quarantined int, reason_code varchar, "
                "system varchar, entity varchar)")
    con.execute("insert into raw._file_manifest values ('crm/complaints_20240101.csv', 'ab', "
                "'landed', 3, 3, 0, null, 'crm', 'complaints'), ('mes/serials_1.csv', 'ef', "
                "'landed', 5, 5, 0, null, 'mes', 'serials'), ('odd.bin', '00', 'quarantined', "
                "0, 0, 0, 'unknown_entity', null, null)")
    con.execute("create table raw._quarantine (system varchar, entity varchar, source_file "
                "varchar, source_row int, reason_code varchar, file_sha256 varchar)")
    con.execute("create table raw._header_gaps (system varchar, entity varchar, header_seen "
                "varchar, source_file varchar)")
    con.close()
    s.parquet_dir.mkdir(parents=True, exist_ok=True)
    for m in MARTS:
        (s.parquet_dir / f"{m}.parquet").write_bytes(b"PAR1")
    return s


def test_a_full_build_is_recorded_only_once_published_then_skipped(settings):
    assert freshness.before_build(settings, "salt", "run-1", full_build=True,
                                  rebuild=False) == freshness.BuildDecision()
    assert freshness.load_published(settings) is None  # pending until publish
    assert not freshness.after_publish(settings, "run-other")  # another run's publish
    assert freshness.after_publish(settings, "run-1")
    record = freshness.load_published(settings)
    assert record["run_id"] == "run-1"
    assert freshness.before_build(settings, "salt", "run-2", full_build=True,
                                  rebuild=False).unchanged == record  # nothing changed: skip


@pytest.mark.parametrize("change", ["rebuild", "partial", "salt", "file", "drill"])
def test_any_change_or_request_rebuilds_and_forgets_the_record(settings, change, monkeypatch):
    freshness.before_build(settings, "salt", "run-1", full_build=True, rebuild=False)
    freshness.after_publish(settings, "run-1")
    salt, full, rebuild = "salt", True, False
    if change == "rebuild":
        rebuild = True
    elif change == "partial":
        full = False
    elif change == "salt":
        salt = "another"
    elif change == "file":
        con = duckdb.connect(str(settings.warehouse))
        con.execute("update raw._file_manifest set sha256 = 'cd'")
        con.close()
    else:
        monkeypatch.setenv("QUALITRACE_INJECT_FAILURE", "not_null__x")
    decision = freshness.before_build(settings, salt, "run-2", full_build=full, rebuild=rebuild)
    assert decision.unchanged is None
    assert decision.partial == (change == "file")  # only landed tables changed
    assert freshness.load_published(settings) is None  # a failed rebuild is never "current"
    assert freshness.after_publish(settings, "run-2") == (change in ("rebuild", "salt", "file"))


def test_the_rebuild_tag():
    assert freshness.rebuild_requested({freshness.REBUILD_TAG: "true"})
    assert freshness.rebuild_requested({freshness.REBUILD_TAG: " Yes"})
    assert not freshness.rebuild_requested({freshness.REBUILD_TAG: "false"})
    assert not freshness.rebuild_requested({})


def _land(settings, sql: str) -> None:
    con = duckdb.connect(str(settings.warehouse))
    con.execute(sql)
    con.close()


def _published(settings) -> None:
    freshness.before_build(settings, "salt", "run-1", full_build=True, rebuild=False)
    assert freshness.after_publish(settings, "run-1")


def test_a_new_file_names_the_landed_tables_that_changed(settings):
    _published(settings)
    _land(settings, "insert into raw._file_manifest values ('crm/complaints_20240102.csv', "
                    "'cd', 'landed', 1, 1, 0, null, 'crm', 'complaints')")
    decision = freshness.before_build(settings, "salt", "run-2", full_build=True, rebuild=False,
                                      known_sources={"_file_manifest", "_quarantine",
                                                     "crm__complaints", "mes__serials"})
    assert decision.changed_sources == ("_file_manifest", "crm__complaints")
    assert decision.since_run == "run-1"
    assert decision.new_files == ("crm/complaints_20240102.csv",)  # what the tests read
    assert freshness.load_published(settings) is None  # forgotten until this run publishes
    assert freshness.after_publish(settings, "run-2")
    record = freshness.load_published(settings)
    assert set(record["sources"]) == {"_file_manifest", "_quarantine", "_header_gaps",
                                      "crm__complaints", "mes__serials"}


def test_the_files_changed_since_the_publish_are_named(settings):
    """A new version of a file (re-delivered: the old one superseded), a new file: their rows
    are new in staging. A file the run did not touch is not named; a record kept before the
    per-file digests names nothing (every test reads every row)."""
    _published(settings)
    _land(settings, "update raw._file_manifest set status = 'superseded' "
                    "where path = 'mes/serials_1.csv'")
    _land(settings, "insert into raw._file_manifest values ('mes/serials_1.csv', 'ff', 'landed', "
                    "6, 6, 0, null, 'mes', 'serials'), ('mes/serials_2.csv', '01', 'landed', "
                    "1, 1, 0, null, 'mes', 'serials')")
    decision = freshness.before_build(settings, "salt", "run-2", full_build=True, rebuild=False)
    assert decision.changed_sources == ("_file_manifest", "mes__serials")
    assert decision.new_files == ("mes/serials_1.csv", "mes/serials_2.csv")
    assert freshness.after_publish(settings, "run-2")
    record = freshness.load_published(settings)
    del record["files"]
    freshness.state_path(settings).write_text(json.dumps(record), encoding="utf-8")
    _land(settings, "insert into raw._file_manifest values ('mes/serials_3.csv', '02', 'landed', "
                    "1, 1, 0, null, 'mes', 'serials')")
    decision = freshness.before_build(settings, "salt", "run-3", full_build=True, rebuild=False)
    assert decision.partial and decision.new_files is None


def test_a_row_quarantined_later_changes_the_ledger_not_its_table(settings):
    _published(settings)  # the row never reached raw.mes__serials: its models stand
    _land(settings, "insert into raw._quarantine values ('mes', 'serials', 'mes/serials_1.csv', "
                    "4, 'invalid_timestamp', 'ef')")
    decision = freshness.before_build(settings, "salt", "run-2", full_build=True, rebuild=False)
    assert decision.changed_sources == ("_quarantine",)


@pytest.mark.parametrize("status", ["duplicate_delivery", "quarantined", "skipped"])
def test_a_file_that_landed_nothing_changes_the_ledgers_only(settings, status):
    _published(settings)
    _land(settings, "insert into raw._file_manifest values ('crm/complaints_20240102.csv', "
                    f"'ab', '{status}', 3, 0, 0, null, 'crm', 'complaints')")
    if status == "quarantined":
        _land(settings, "insert into raw._quarantine values ('crm', 'complaints', "
                        "'crm/complaints_20240102.csv', null, 'unreadable_file', 'ab')")
    decision = freshness.before_build(settings, "salt", "run-2", full_build=True, rebuild=False)
    assert decision.changed_sources == (
        ("_file_manifest", "_quarantine") if status == "quarantined" else ("_file_manifest",))
    assert freshness.after_publish(settings, "run-2")
    _land(settings, "insert into raw._file_manifest values ('crm/complaints_20240103.csv', "
                    "'cd', 'landed', 2, 2, 0, null, 'crm', 'complaints')")
    decision = freshness.before_build(settings, "salt", "run-3", full_build=True, rebuild=False)
    assert "crm__complaints" in decision.changed_sources  # a file that landed rows does


@pytest.mark.parametrize("why", ["unknown table", "code", "old record", "failed run"])
def test_everything_is_rebuilt_when_more_than_landed_tables_changed(settings, why):
    _published(settings)
    _land(settings, "insert into raw._file_manifest values ('qms/new_entity_1.csv', 'cd', "
                    "'landed', 1, 1, 0, null, 'qms', 'new_entity')")
    salt, known = "salt", {"_file_manifest", "crm__complaints", "mes__serials"}
    if why == "unknown table":
        pass  # qms__new_entity is no dbt source: its dependants are unknown
    elif why == "code":
        salt, known = "another salt", None
    elif why == "old record":  # published before per-table fingerprints were kept
        known = None
        record = freshness.load_published(settings)
        del record["sources"]
        freshness.state_path(settings).write_text(json.dumps(record), encoding="utf-8")
    else:  # a run that started building and never published
        known = None
        freshness.before_build(settings, "salt", "run-x", full_build=False, rebuild=False)
    decision = freshness.before_build(settings, salt, "run-2", full_build=True, rebuild=False,
                                      known_sources=known)
    assert decision == freshness.BuildDecision()
