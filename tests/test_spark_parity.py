"""The same plant on a real Spark standalone cluster equals the DuckDB build (issue 17).

A Spark master and two workers are started on 127.0.0.1 from the pyspark package; the dbt
project is built on that cluster from the landing of a DuckDB run of the same exports; then
every table the DuckDB build materialised (staging base tables, intermediate, marts, dbt's
governance tables) is compared row for row (orchestration/lib/engine_parity.py: column names,
row counts and the multiset of rows, doubles to 6 decimals). Only a row-level comparison
catches an engine difference: a regex dialect turns batch codes NULL while every dbt test
still passes.
"""

from __future__ import annotations

import pytest

from orchestration.lib.engine_parity import built_tables, compare_builds
from orchestration.lib.spark import run_spark_build, spark_paths, start_standalone_cluster
from tests.support.runs import generate_plant, run_pipeline

pytestmark = pytest.mark.integration

# tables written by the Python gate and alerting, not by dbt: no Spark counterpart yet
NOT_DBT = {("governance", "alerts"), ("governance", "check_results")}


@pytest.fixture(scope="module")
def spark_and_duckdb(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spark_parity")
    plant = generate_plant(tmp / "exports", scale=0.01, seed=7)
    run = run_pipeline(tmp / "home", plant.exports)
    assert run.returncode == 0, run.output[-3000:]
    cluster = start_standalone_cluster(tmp / "cluster", workers=2, cores=1, memory="1g")
    try:
        workers = cluster.alive_workers()
        build = run_spark_build(run.settings, master=cluster.master_url)
    finally:
        cluster.stop()
    return run.settings, build, workers


def test_the_cluster_had_two_workers_and_the_spark_build_passed(spark_and_duckdb):
    _, build, workers = spark_and_duckdb
    assert workers == 2
    log = build.log.read_text(encoding="utf-8", errors="replace")
    assert build.ok, log[-4000:]
    assert "Completed successfully" in log
    # the landing Spark read is the DuckDB run's landing
    assert build.landing_rows["raw.crm__complaints"] > 0


def test_every_dbt_table_built_on_spark_equals_the_duckdb_build(spark_and_duckdb):
    settings, _, _ = spark_and_duckdb
    tables = [t for t in built_tables(settings.warehouse, ["staging", "intermediate",
                                                           "marts_build", "governance"])
              if t not in NOT_DBT]
    names = {f"{s}.{t}" for s, t in tables}
    assert {"marts_build.suspect_ranking", "marts_build.spc_violations",
            "marts_build.forward_trace", "marts_build.complaint_trace",
            "staging.base_mes__process_readings"} <= names
    results = compare_builds(settings.warehouse, spark_paths(settings.home).table_glob, tables)
    unequal = [r.describe() for r in results if not r.equal]
    assert not unequal, "\n".join(unequal)
    rows = {r.table: r.rows_left for r in results}
    assert rows["marts_build.suspect_ranking"] > 0 and rows["marts_build.forward_trace"] > 0
    assert rows["marts_build.spc_violations"] > 0
