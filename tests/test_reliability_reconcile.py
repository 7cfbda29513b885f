"""Reconciliation (issue 8.2): the pure rule and the warehouse collector."""

from __future__ import annotations

import duckdb

from orchestration.lib.reconcile import (
    FileCounts,
    collect_file_counts,
    is_reject_filter,
    reconcile,
)


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


def _warehouse(stg_sql: str):
    con = duckdb.connect()
    con.execute("create schema raw; create schema staging")
    con.execute("""create table raw._file_manifest as select * from (values
        ('crm/c1.csv', 's1', 'crm', 'complaints', 'loaded', 4, 3, 1),
        ('crm/c2.csv', 's2', 'crm', 'complaints', 'loaded', 1, 1, 0))
        t(path, sha256, system, entity, status, rows_read, rows_landed, rows_quarantined)""")
    con.execute("""create table raw.crm__complaints as select * from (values
        ('crm/c1.csv', 's1', 'x'), ('crm/c1.csv', 's1', 'y'), ('crm/c1.csv', 's1', 'x'),
        ('crm/c2.csv', 's2', 'z')) t(_source_file, _file_sha256, complaint_id)""")
    con.execute("""create view staging.base_crm__complaints as
        select *, case when complaint_id = 'y' then 'bad' end as _reject_reason,
               'detail' as _reject_detail from raw.crm__complaints""")
    con.execute(f"create view staging.stg_crm__complaints as {stg_sql}")
    return con


def test_one_pass_over_base_when_staging_is_its_reject_filter():
    plain = ("select b.* exclude (_reject_reason, _reject_detail), b.complaint_id as id2 "
             "from staging.base_crm__complaints as b where b._reject_reason is null")
    con = _warehouse(plain)
    sql = con.execute("select sql from duckdb_views() where view_name = 'stg_crm__complaints'"
                      ).fetchone()[0]
    assert is_reject_filter(sql, "base_crm__complaints")
    assert not is_reject_filter(sql, "base_crm__other")
    files = collect_file_counts(con)
    assert [(f.path, f.raw_rows, f.staged_rows, f.rejected_rows) for f in files] == [
        ("crm/c1.csv", 3, 2, 1), ("crm/c2.csv", 1, 1, 0)]
    assert reconcile(files) == []


def test_staging_that_is_not_a_plain_filter_is_counted_on_its_own():
    # distinct drops the repeated 'x': one valid row lost between raw and staging
    con = _warehouse("select distinct _source_file, _file_sha256, complaint_id "
                     "from staging.base_crm__complaints where _reject_reason is null")
    sql = con.execute("select sql from duckdb_views() where view_name = 'stg_crm__complaints'"
                      ).fetchone()[0]
    assert not is_reject_filter(sql, "base_crm__complaints")
    files = collect_file_counts(con)
    assert [(f.path, f.staged_rows, f.rejected_rows) for f in files] == [
        ("crm/c1.csv", 1, 1), ("crm/c2.csv", 1, 0)]
    assert reconcile(files) == [
        "crm/c1.csv (crm.complaints, loaded): 3 rows landed but staging has 1 valid + 1 rejected"]
    for joined in (("select b.* from staging.base_crm__complaints b join raw.crm__complaints r "
                    "using (complaint_id) where b._reject_reason is null"),
                   ("select * from staging.base_crm__complaints where _reject_reason is null "
                    "limit 1")):
        assert not is_reject_filter(joined, "base_crm__complaints")
