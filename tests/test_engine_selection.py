"""Choosing the engine of a run (lib/engine.py), and how a Spark build is read in place.

No Spark here: the whole pipeline on a real cluster is tests/test_spark_parity.py. These
check what a user meets first (a wrong flag, no Spark environment) and the seam the gate and
publishing read through (`link_spark_tables`: Parquet tables as warehouse views)."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from orchestration.lib.engine import EngineError, resolve_engine, resolve_master
from orchestration.lib.settings import get_settings
from orchestration.lib.spark import link_spark_tables, spark_paths
from orchestration.lib.warehouse import connect, stored_relations
from tests.support.runs import cli_env, qualitrace


def test_engine_defaults_to_duckdb_and_names_the_choices(monkeypatch):
    monkeypatch.delenv("QUALITRACE_ENGINE", raising=False)
    monkeypatch.delenv("QUALITRACE_SPARK_MASTER", raising=False)
    assert resolve_engine() == "duckdb" and resolve_master() is None
    monkeypatch.setenv("QUALITRACE_ENGINE", " Spark ")
    monkeypatch.setenv("QUALITRACE_SPARK_MASTER", "spark://m:7077")
    assert resolve_engine() == "spark" and resolve_master() == "spark://m:7077"
    assert resolve_engine("duckdb") == "duckdb"  # explicit config wins over the environment
    monkeypatch.setenv("QUALITRACE_ENGINE", "postgres")
    with pytest.raises(EngineError, match="QUALITRACE_ENGINE='postgres'.*duckdb or spark"):
        resolve_engine()


def test_a_spark_master_without_the_spark_engine_is_refused(tmp_path):
    (tmp_path / "exports").mkdir()
    proc = qualitrace("run", "--home", str(tmp_path / "home"), "--exports",
                      str(tmp_path / "exports"), "--spark-master", "spark://m:7077", timeout=120)
    assert proc.returncode == 2
    assert "need --engine spark" in proc.stderr


def test_without_the_spark_environment_the_run_names_the_make_target(tmp_path):
    (tmp_path / "exports").mkdir()
    proc = qualitrace("run", "--home", str(tmp_path / "home"), "--exports",
                      str(tmp_path / "exports"), "--engine", "spark", timeout=120,
                      env=cli_env(QUALITRACE_SPARK_PYTHON=str(tmp_path / "no-such-python")))
    assert proc.returncode == 2
    assert "make spark-env" in proc.stderr and "no-such-python" in proc.stderr
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()  # nothing ran


def _spark_table(home, schema: str, table: str, sql: str) -> None:
    """Parquet files where a Spark build writes `schema.table` (instants as Spark writes
    timestamps)."""
    folder = spark_paths(home).warehouse / f"{schema}.db" / table
    folder.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"copy ({sql}) to '{folder / 'part-00000.parquet'}' (format parquet)")
    con.close()


def test_spark_tables_are_linked_as_views_that_read_like_tables(tmp_path):
    settings = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    with connect(settings) as con:  # what an earlier DuckDB build left
        con.execute("create schema marts_build")
        con.execute("create table marts_build.batch_quality as select 1 as old")
        con.execute("create schema raw")
        con.execute("create table raw.crm__complaints as select 'x' as complaint_id")
    _spark_table(settings.home, "marts_build", "batch_quality",
                 "select 'B1' as batch_code, 2.5::double as ppm, "
                 "timestamptz '2024-01-02 03:04:05+00' as built_at")
    _spark_table(settings.home, "staging", "stg_crm__complaints",
                 "select 'C1' as complaint_id union all select 'C2'")
    _spark_table(settings.home, "scratch", "not_ours", "select 1 as x")  # not a dbt schema
    linked = link_spark_tables(settings)
    assert sorted(linked) == ["marts_build.batch_quality", "staging.stg_crm__complaints"]
    with connect(settings, read_only=True) as con:
        assert con.execute("select * from marts_build.batch_quality").fetchall() == [
            ("B1", 2.5, datetime(2024, 1, 2, 3, 4, 5))]  # naive UTC, as DuckDB builds write
        assert con.execute("select count(*) from staging.stg_crm__complaints").fetchone() == (2,)
        kinds = dict(con.execute("select table_schema || '.' || table_name, table_type "
                                 "from information_schema.tables").fetchall())
        assert kinds["marts_build.batch_quality"] == "VIEW"  # the DuckDB table was replaced
        stored = stored_relations(con)
        assert {("marts_build", "batch_quality"), ("staging", "stg_crm__complaints"),
                ("raw", "crm__complaints")} <= stored
        assert stored_relations(con, ["raw"]) == {("raw", "crm__complaints")}
    _spark_table(settings.home, "marts_build", "spc_violations", "select 1 as rule")
    assert "marts_build.spc_violations" in link_spark_tables(settings)  # idempotent, grows
