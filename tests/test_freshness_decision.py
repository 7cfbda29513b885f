"""The skip decision of the pipeline's dbt step (lib/freshness.before_build / after_publish)."""

from __future__ import annotations

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
                "rows_read int, rows_landed int, rows_quarantined int, reason_code varchar)")
    con.execute("insert into raw._file_manifest values ('crm/complaints_20240101.csv', 'ab', "
                "'landed', 3, 3, 0, null)")
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
    assert freshness.before_build(settings, "salt", "run-1", full_build=True, rebuild=False) is None
    assert freshness.load_published(settings) is None  # pending until publish
    assert not freshness.after_publish(settings, "run-other")  # another run's publish
    assert freshness.after_publish(settings, "run-1")
    record = freshness.load_published(settings)
    assert record["run_id"] == "run-1"
    assert freshness.before_build(settings, "salt", "run-2", full_build=True,
                                  rebuild=False) == record  # nothing changed: skip


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
    assert freshness.before_build(settings, salt, "run-2", full_build=full, rebuild=rebuild) is None
    assert freshness.load_published(settings) is None  # a failed rebuild is never "current"
    assert freshness.after_publish(settings, "run-2") == (change in ("rebuild", "salt", "file"))


def test_the_rebuild_tag():
    assert freshness.rebuild_requested({freshness.REBUILD_TAG: "true"})
    assert freshness.rebuild_requested({freshness.REBUILD_TAG: " Yes"})
    assert not freshness.rebuild_requested({freshness.REBUILD_TAG: "false"})
    assert not freshness.rebuild_requested({})
