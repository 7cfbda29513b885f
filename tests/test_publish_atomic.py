"""Publishing is atomic for readers: the Parquet set and the serving database switch together.

kill -9 at every step of a publish (fault injection through QUALITRACE_TEST_CRASH_AT, in a
child process) leaves readers either the whole previous set or the whole new one, never a
mix; the next publish completes without manual steps and leaves no partial version behind.
Then the analysts' view: a read-only connection to `<home>/serving.duckdb` held open through a
full `qualitrace run` neither blocks the run nor changes under the reader until it reconnects.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest

from orchestration.lib import publish as publish_module
from orchestration.lib.publish import (
    CRASH_ENV,
    FINGERPRINT_COMMENT,
    KEEP_VERSIONS,
    MANIFEST,
    MARTS,
    current_version,
    publish_marts,
    serving_path,
    versions_root,
)
from orchestration.lib.settings import get_settings
from tests.support.homes import copy_home
from tests.support.runs import REPO_ROOT, run_pipeline

STEPS_BEFORE_SWITCH = ("parquet", "serving", "switch")
STEPS_AFTER_SWITCH = ("switched", "warehouse")


def build(settings, value: int) -> None:
    con = duckdb.connect(str(settings.warehouse))
    con.execute("create schema if not exists marts_build")
    for n in MARTS:
        con.execute(f"create or replace table marts_build.{n} as "
                    f"select {value} as v, '{n}' as m from range(3)")
    con.close()


def published_set(settings) -> dict[str, set]:
    """What a reader sees now: per mart, the values in the Parquet file and in the serving db."""
    seen = {}
    con = duckdb.connect()
    for n in MARTS:
        seen[f"parquet:{n}"] = {r[0] for r in con.execute(
            f"select v from read_parquet('{settings.parquet_dir / (n + '.parquet')}')").fetchall()}
    con.close()
    con = duckdb.connect(str(serving_path(settings)), read_only=True)
    for n in MARTS:
        seen[f"serving:{n}"] = {r[0] for r in con.execute(f"select v from marts.{n}").fetchall()}
    con.close()
    return seen


def warehouse_values(settings) -> set:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return {r[0] for n in MARTS for r in con.execute(f"select v from marts.{n}").fetchall()}
    finally:
        con.close()


def publish_in_child(settings, crash_at: str) -> subprocess.CompletedProcess:
    code = ("import sys; from pathlib import Path; "
            "from orchestration.lib.settings import get_settings; "
            "from orchestration.lib.publish import publish_marts; "
            "publish_marts(get_settings(Path(sys.argv[1]), Path(sys.argv[2])))")
    return subprocess.run([sys.executable, "-c", code, str(settings.home), str(settings.exports)],
                          env={**os.environ, CRASH_ENV: crash_at}, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("step", STEPS_BEFORE_SWITCH + STEPS_AFTER_SWITCH)
def test_kill_9_at_each_step_never_tears_the_published_set(tmp_path, step):
    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    build(s, 1)
    publish_marts(s)
    assert set().union(*published_set(s).values()) == {1}
    build(s, 2)
    proc = publish_in_child(s, step)
    assert proc.returncode == -9, proc.stderr[-2000:]  # it really died at that step
    seen = published_set(s)
    values = set().union(*seen.values())
    assert len(values) == 1, f"torn after kill -9 at {step}: {seen}"
    assert values == ({1} if step in STEPS_BEFORE_SWITCH else {2}), step
    # the next publish completes without manual steps and leaves nothing partial
    publish_marts(s)
    assert set().union(*published_set(s).values()) == {2} and warehouse_values(s) == {2}
    versions = [p for p in versions_root(s).iterdir()]
    assert all((p / MANIFEST).exists() for p in versions), versions
    assert current_version(s) in versions and len(versions) <= KEEP_VERSIONS


def test_marts_not_republished_are_carried_over_and_old_versions_pruned(tmp_path):
    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    build(s, 1)
    publish_marts(s)
    first = current_version(s)
    for value in (2, 3, 4):
        build(s, value)
        publish_marts(s, names=("batch_quality",))
    seen = published_set(s)
    assert seen["parquet:batch_quality"] == {4} == seen["serving:batch_quality"]
    assert seen["parquet:forward_trace"] == {1} == seen["serving:forward_trace"]
    assert not first.exists()  # only the newest versions are kept
    assert len(list(versions_root(s).iterdir())) == KEEP_VERSIONS
    assert (s.parquet_dir / "forward_trace.parquet").stat().st_nlink >= 2  # hard-linked


def _mark_published_tables(settings) -> None:
    """A comment on every published table: `create or replace` would drop it."""
    con = duckdb.connect(str(settings.warehouse))
    for n in MARTS:
        con.execute(f"comment on table marts.{n} is 'as published before'")
    con.close()


def _rewritten_tables(settings) -> set[str]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        kept = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' "
            "and comment = 'as published before'").fetchall()}
    finally:
        con.close()
    return set(MARTS) - kept


def _comments(settings) -> dict[str, str]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return dict(con.execute("select table_name, comment from duckdb_tables() "
                                "where schema_name = 'marts'").fetchall())
    finally:
        con.close()


def test_published_tables_carry_their_fingerprint_so_it_is_not_computed_again(
        tmp_path, monkeypatch):
    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    computed = []
    real = publish_module.content_fingerprint

    def counting(con, schema, table):
        computed.append(schema)
        return real(con, schema, table)

    monkeypatch.setattr(publish_module, "content_fingerprint", counting)
    build(s, 1)
    publish_marts(s)
    con = duckdb.connect(str(s.warehouse), read_only=True)
    expected = {n: FINGERPRINT_COMMENT + real(con, "marts", n) for n in MARTS}
    con.close()
    assert _comments(s) == expected
    # the same rows again: only the built tables are fingerprinted, nothing is rewritten
    computed.clear()
    assert publish_marts(s) == dict.fromkeys(MARTS, 3)
    assert set(computed) == {"marts_build"}
    assert _comments(s) == expected
    # other rows: the tables and their comments are replaced together
    build(s, 2)
    publish_marts(s)
    assert published_set(s)["serving:forward_trace"] == {2}
    con = duckdb.connect(str(s.warehouse), read_only=True)
    assert {r[0] for r in con.execute("select v from marts.forward_trace").fetchall()} == {2}
    assert _comments(s) == {n: FINGERPRINT_COMMENT + real(con, "marts", n) for n in MARTS}
    con.close()
    # a table whose comment is not a fingerprint (published by an older version) is computed
    con = duckdb.connect(str(s.warehouse))
    con.execute("comment on table marts.forward_trace is 'written by hand'")
    con.close()
    computed.clear()
    publish_marts(s)
    assert computed.count("marts") == 1


def test_a_mart_whose_rows_did_not_change_is_not_written_again(tmp_path):
    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    build(s, 1)
    publish_marts(s)
    first = current_version(s)
    _mark_published_tables(s)
    # the same rows rebuilt in another physical order: nothing is written again
    con = duckdb.connect(str(s.warehouse))
    for n in MARTS:
        con.execute(f"create or replace table marts_build.{n} as "
                    f"select * from marts_build.{n} order by random()")
    con.close()
    assert publish_marts(s) == dict.fromkeys(MARTS, 3)
    assert current_version(s) == first  # no new version: readers have these very marts
    assert _rewritten_tables(s) == set()
    # one mart changes: a new version, the other marts' files hard-linked into it
    build_one = duckdb.connect(str(s.warehouse))
    build_one.execute("update marts_build.problem_pareto set m = 'other'")
    build_one.close()
    publish_marts(s)
    second = current_version(s)
    assert second != first
    for n in set(MARTS) - {"problem_pareto"}:
        assert (second / f"{n}.parquet").stat().st_ino == (first / f"{n}.parquet").stat().st_ino
    assert _rewritten_tables(s) == {"problem_pareto"}
    assert sorted(json.loads((second / MANIFEST).read_text())["unchanged"]) == \
        sorted(set(MARTS) - {"problem_pareto"})
    _mark_published_tables(s)
    # one row of one mart changes, and another mart's column type: those two are written
    con = duckdb.connect(str(s.warehouse))
    con.execute("update marts_build.complaint_trace set m = 'changed' where v = 1 and "
                "rowid = (select min(rowid) from marts_build.complaint_trace)")
    con.execute("create or replace table marts_build.batch_quality as "
                "select cast(v as bigint) as v, m from marts_build.batch_quality")
    con.close()
    counts = publish_marts(s)
    third = current_version(s)
    changed = {n for n in MARTS
               if (third / f"{n}.parquet").stat().st_ino != (second / f"{n}.parquet").stat().st_ino}
    assert changed == {"complaint_trace", "batch_quality"}
    assert _rewritten_tables(s) == changed
    assert counts == dict.fromkeys(MARTS, 3)
    con = duckdb.connect(str(serving_path(s)), read_only=True)
    assert con.execute("select count(*) from marts.complaint_trace where m = 'changed'"
                       ).fetchone()[0] == 1
    assert con.execute("select data_type from information_schema.columns where table_name = "
                       "'batch_quality' and column_name = 'v'").fetchone()[0] == "BIGINT"
    con.close()


@pytest.mark.integration
def test_a_reader_holding_the_serving_db_never_blocks_a_run(pipeline_home, tmp_path):
    s = copy_home(pipeline_home, tmp_path / "home")  # a published home (the shared run's)
    home = s.home
    reader = duckdb.connect(str(serving_path(s)), read_only=True)
    try:
        before = reader.execute("select count(*), sum(units_shipped) from marts.batch_quality"
                                ).fetchone()
        opened = reader.execute("select sql from duckdb_views() where view_name = "
                                "'batch_quality'").fetchone()[0]
        second = run_pipeline(home, s.exports, "--rebuild")
        assert second.returncode == 0, second.output[-3000:]
        # the reader still reads the version it opened, whole
        assert reader.execute("select count(*), sum(units_shipped) from marts.batch_quality"
                              ).fetchone() == before
        assert reader.execute("select sql from duckdb_views() where view_name = "
                              "'batch_quality'").fetchone()[0] == opened
    finally:
        reader.close()
    fresh = duckdb.connect(str(serving_path(s)), read_only=True)
    try:
        now = fresh.execute("select sql from duckdb_views() where view_name = 'batch_quality'"
                            ).fetchone()[0]
        assert now != opened and current_version(s).name in now  # reconnected: the new one
        assert fresh.execute("select count(*) from marts.complaint_trace").fetchone()[0] > 0
        assert {r[0] for r in fresh.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()} >= set(MARTS) | {"escalations", "hold_list"}
    finally:
        fresh.close()
