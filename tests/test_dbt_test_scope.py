"""A partial build's staging tests read only the files delivered since the published run
(dbt_project/macros/tests/where_subquery.sql; the files come from lib/freshness.py).

Real ingest of hand-written serials files, real dbt in-process over the warehouse: faults are
planted in the staging table, as a broken conformance would leave them, and the tests judge
them with and without the scope."""

from __future__ import annotations

import json
import re

import pytest

from orchestration.lib.dbt_project import TESTS_SCOPE_ENV, staging_tests_scope
from tests.test_dbt_incremental import Plant, _serials

pytestmark = pytest.mark.integration  # dbt over a small plant

OLD, NEW = "mes/serials_20240102.csv", "mes/serials_20240104.csv"
UNIQUE = "unique_combination_of_columns_base_mes__serials__source_file___source_row"


@pytest.fixture(scope="module")
def plant(tmp_path_factory) -> Plant:
    p = Plant(tmp_path_factory.mktemp("scope"), entities=(("mes", "serials"),))
    p.write("serials_20240102.csv", _serials(2, 20))
    p.write("serials_20240104.csv", "serial_no,batch,produced_at\n"  # another header order
            "SNP0011001104aa,20240104-L1-001,2024-01-04 04:00:29\n"
            "SNP0011001104ab,20240104-L1-001,2024-01-04 04:01:29\n")
    p.ingest()
    p.dbt("build")
    return p


def _failing(plant: Plant, files: list[str] | None, monkeypatch) -> set[str]:
    """The serials tests that fail when run with `files` as the partial build's scope."""
    monkeypatch.setenv(TESTS_SCOPE_ENV, "" if files is None else json.dumps(files))
    res = plant.dbt("test", check=False)
    assert res.result is not None, res.exception
    return {r.node.name.split(".")[0] for r in res.result if r.status == "fail"}


def _plant(plant: Plant, sql: str):
    """Run `sql` (a fault planted in the staging table); returns what takes it out again."""
    plant.sql(sql)
    return lambda: plant.sql("create or replace table staging.base_mes__serials as select "
                             "distinct * from staging.base_mes__serials "
                             "where _source_file is not null")


def test_a_fault_in_an_old_file_is_the_published_runs_and_not_read_again(plant, monkeypatch):
    undo = _plant(plant, "insert into staging.base_mes__serials select * from "
                         f"staging.base_mes__serials where _source_file = '{OLD}' "
                         "and _source_row = 3")
    try:
        assert _failing(plant, None, monkeypatch) == {UNIQUE}  # a full build reads it
        assert _failing(plant, [OLD], monkeypatch) == {UNIQUE}
        assert _failing(plant, [NEW], monkeypatch) == set()  # scoped to the new file
        assert _failing(plant, [], monkeypatch) == set()
    finally:
        undo()
    assert _failing(plant, None, monkeypatch) == set()


def test_a_fault_in_a_new_file_fails_the_scoped_test_too(plant, monkeypatch):
    undo = _plant(plant, "insert into staging.base_mes__serials select * from "
                         f"staging.base_mes__serials where _source_file = '{NEW}'")
    try:
        assert _failing(plant, [NEW], monkeypatch) == {UNIQUE}
        assert _failing(plant, [OLD, NEW], monkeypatch) == {UNIQUE}
        assert _failing(plant, [OLD], monkeypatch) == set()
    finally:
        undo()


def test_a_row_without_a_file_is_read_whatever_the_scope(plant, monkeypatch):
    undo = _plant(plant, "insert into staging.base_mes__serials select * replace "
                         "(null as _source_file) from "
                         f"staging.base_mes__serials where _source_file = '{OLD}' limit 1")
    try:
        assert _failing(plant, [NEW], monkeypatch) == {"not_null_base_mes__serials__source_file"}
    finally:
        undo()


def test_only_file_by_file_tests_of_by_file_models_are_scoped(plant, monkeypatch):
    """Every test of the project compiled with a scope: the filter is in the staging tables'
    tests that judge rows file by file, and in no other test."""
    monkeypatch.setenv(TESTS_SCOPE_ENV, json.dumps([NEW, "mes/it's.csv"]))
    results = plant.dbt("compile", select=["resource_type:test"])
    scoped, whole = set(), set()
    for r in results:
        sql = r.node.compiled_code
        if "_source_file is null or _source_file in" in sql:
            assert "'mes/it''s.csv'" in sql
            scoped.add(r.node.name)
        else:
            whole.add(r.node.name)
    assert len(scoped) == 16 * 3  # per staging table: unique file rows, files and rows not null
    for name in scoped:
        assert re.match(r"(not_null|unique_combination_of_columns)_base_\w+__source_(file|row)",
                        name), name
    assert [n for n in whole if n.startswith("unique_combination_of_columns_int_")]
    assert [n for n in whole if n.startswith("not_null_stg_")]  # views: not by_file
    assert [n for n in whole if n.startswith("unique_int_")]


def test_the_scope_reaching_dbt():
    assert staging_tests_scope(None) == {TESTS_SCOPE_ENV: ""}
    assert json.loads(staging_tests_scope(["b.csv", "a.csv", "b.csv"])[TESTS_SCOPE_ENV]) == \
        ["a.csv", "b.csv"]
    assert staging_tests_scope([]) == {TESTS_SCOPE_ENV: "[]"}  # no file changed: no old row read
    many = [f"mes/process_readings_{i:06d}.csv" for i in range(5000)]
    assert staging_tests_scope(many) == {TESTS_SCOPE_ENV: ""}  # too long: every row
