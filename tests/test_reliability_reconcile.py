"""Reconciliation (issue 8.2): the pure rule and the warehouse collector."""

from __future__ import annotations

import duckdb

from orchestration.lib.reconcile import FileCounts, collect_file_counts, reconcile


def _file(**kw) -> FileCounts:
    base = {"path": "crm/complaints_20240315.csv", "sha256": "ab", "system": "crm",
            "entity": "complaints", "status": "loaded", "rows_read": 10, "rows_landed": 8,
            "rows_quarantined": 2, "raw_rows": 8, "staged_rows": 7, "rejected_rows": 1}
    base.update(kw)
    return FileCounts(**base)


def test_balanced_files_reconcile():
    assert reconcile([_file(), _file(path="b.csv", status="duplicate_delivery", rows_read=0,
                                     rows_landed=0, rows_quarantined=0, raw_rows=8)]) == []


def test_lost_row_is_named_by_file():
    problems = reconcile([_file(rows_read=11)])
    assert len(problems) == 1
    assert "crm/complaints_20240315.csv" in problems[0] and "rows_read 11" in problems[0]


def test_raw_table_disagreeing_with_ledger_is_reported():
    assert "raw.crm__complaints holds 16" in reconcile([_file(raw_rows=16)])[0]


def test_rows_lost_between_raw_and_staging_are_reported():
    assert "staging has 6 valid + 1 rejected" in reconcile([_file(staged_rows=6)])[0]


def test_missing_layers_are_not_compared():
    assert reconcile([_file(raw_rows=None, staged_rows=None, rejected_rows=None)]) == []


def test_collect_counts_from_a_warehouse():
    con = duckdb.connect()
    con.execute("create schema raw; create schema staging")
    con.execute("""create table raw._file_manifest as select * from (values
        ('crm/c1.csv', 's1', 'crm', 'complaints', 'loaded', 3, 2, 1),
        ('crm/c1_2.csv', 's1', 'crm', 'complaints', 'duplicate_delivery', 0, 0, 0))
        t(path, sha256, system, entity, status, rows_read, rows_landed, rows_quarantined)""")
    con.execute("""create table raw.crm__complaints as select * from (values
        ('crm/c1.csv', 's1', 'x'), ('crm/c1.csv', 's1', 'y'))
        t(_source_file, _file_sha256, complaint_id)""")
    con.execute("""create view staging.base_crm__complaints as
        select *, case when complaint_id = 'y' then 'bad' end as _reject_reason
        from raw.crm__complaints""")
    con.execute("""create view staging.stg_crm__complaints as
        select * from staging.base_crm__complaints where _reject_reason is null""")
    files = collect_file_counts(con)
    assert [(f.path, f.raw_rows, f.staged_rows, f.rejected_rows) for f in files] == [
        ("crm/c1.csv", 2, 1, 1), ("crm/c1_2.csv", 0, 0, 0)]
    assert reconcile(files) == []
    con.execute("delete from raw.crm__complaints where complaint_id = 'y'")
    problems = reconcile(collect_file_counts(con))
    assert problems and "crm/c1.csv" in problems[0]
