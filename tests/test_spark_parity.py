"""The whole pipeline on a real Spark standalone cluster equals the DuckDB run (issue 17).

A Spark master and two workers are started on 127.0.0.1 from the pyspark package. The same
exports are run twice with the same salt for customer keys: `qualitrace run` (DuckDB, the
default) into one home, `qualitrace run --engine spark --spark-master <the cluster>` into
another. On Spark every dbt model and data test runs on the cluster; the gate and publishing
read its tables in place (Parquet) as they read a DuckDB build. Compared: every table dbt
materialised (staging base tables, intermediate, marts_build, dbt's governance tables), every
published mart (the Parquet files `qualitrace trace` and analysts read) and the gate's verdicts
(orchestration/lib/engine_parity.py: column names, row counts and the multiset of rows,
doubles to 6 decimals; the times each home landed the files are left out). The exports are two plants in one folder: a generated one (every mart
has rows: suspect ranking, SPC violations, forward trace) and the hand-written hostile plant of
the gate and quarantine tests (tests/support/hostile_plant.py: foreign spellings, Chinese
headers, unlinked CAPA, `inf`, `1e400`, `265,5`, corrections by later files, personal data).
Only a row-level comparison catches an engine difference: a regex dialect turns batch codes
NULL while every dbt test still passes.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.engine_parity import INGEST_TIMES, compare_dbt_tables, compare_published
from orchestration.lib.publish import MARTS
from orchestration.lib.spark import spark_paths, start_standalone_cluster
from tests.support import hostile_plant
from tests.support.runs import generate_plant, run_pipeline

pytestmark = pytest.mark.integration

SALT = {"QUALITRACE_PII_SALT": "spark-parity-salt"}  # one customer_key for both runs


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = start_standalone_cluster(tmp_path_factory.mktemp("cluster"), workers=2, cores=1,
                                       memory="1g")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory) -> dict[str, Path]:
    """The hostile plant's files by their path under the exports folder."""
    root = hostile_plant.build(tmp_path_factory.mktemp("hostile") / "exports")
    return {f.relative_to(root).as_posix(): f for f in sorted(root.rglob("*")) if f.is_file()}


@pytest.fixture(scope="module")
def runs(cluster, hostile_files, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spark_plants")
    plant = generate_plant(tmp / "exports", scale=0.01, seed=7)
    for rel, f in hostile_files.items():
        target = plant.exports / rel
        assert not target.exists(), f"{rel}: in both plants"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
    # side by side: the Spark run spends most of its time waiting on the cluster
    with ThreadPoolExecutor(2) as pool:
        spark_run = pool.submit(run_pipeline, tmp / "spark", plant.exports, "--engine", "spark",
                                "--spark-master", cluster.master_url, env=SALT)
        duck = pool.submit(run_pipeline, tmp / "duckdb", plant.exports, env=SALT).result()
        spark = spark_run.result()
    assert duck.returncode == 0, duck.output[-3000:]
    assert spark.returncode == 0, spark.output[-4000:]
    return duck, spark


def test_the_spark_run_built_on_the_two_workers(cluster, runs):
    _, spark = runs
    assert "engine: Apache Spark (spark://127.0.0.1:" in spark.output
    with urllib.request.urlopen(cluster.ui_url + "/json/", timeout=5) as r:
        master = json.load(r)
    assert master["aliveworkers"] == 2
    apps = [a for a in master["completedapps"] if a["name"] == "qualitrace-dbt"]
    assert apps, master["completedapps"]  # dbt's Spark session ran on this cluster
    assert any(a["cores"] >= 2 for a in apps)  # with both workers' cores
    assert (spark_paths(spark.settings.home).warehouse / "marts_build.db" / "forward_trace").is_dir()
    # Spark's own messages went to its log file, not into the dbt output dagster-dbt parses
    # (spliced into a dbt line, they cost the event of a test result)
    assert "Using an existing Spark session" in spark_paths(spark.settings.home).driver_log.read_text()
    assert "WARN SparkSession" not in spark.output and "CodeGenerator" not in spark.output


def test_every_dbt_table_equals_the_duckdb_build(runs):
    duck, spark = runs
    # each home landed the exports itself: the ingest times differ, nothing else may
    results = compare_dbt_tables(duck.settings.warehouse,
                                 spark_paths(spark.settings.home).table_glob, ignore=INGEST_TIMES)
    names = {r.table for r in results}
    assert {"marts_build.suspect_ranking", "marts_build.spc_violations",
            "marts_build.forward_trace", "marts_build.complaint_trace",
            "staging.base_mes__process_readings"} <= names
    unequal = [r.describe() for r in results if not r.equal]
    assert not unequal, "\n".join(unequal)
    rows = {r.table: r.rows_left for r in results}
    assert rows["marts_build.suspect_ranking"] > 0 and rows["marts_build.forward_trace"] > 0
    assert rows["marts_build.spc_violations"] > 0


def test_every_published_mart_equals_the_duckdb_run(runs):
    """What analysts and `qualitrace trace` read: the Parquet files of the published version."""
    duck, spark = runs
    results = compare_published(duck.settings.parquet_dir, spark.settings.parquet_dir, MARTS,
                                ignore=INGEST_TIMES)
    unequal = [r.describe() for r in results if not r.equal]
    assert not unequal, "\n".join(unequal)
    assert all(r.rows_left > 0 for r in results), [r.describe() for r in results]


def test_the_gate_gave_the_same_verdicts(runs):
    """Every check of the gate (GX expectations, reconciliation, dbt tests) judged the Spark
    build as it judged the DuckDB one, failing WARNs included."""
    verdicts = []
    for run in runs:
        con = duckdb.connect(str(run.settings.warehouse), read_only=True)
        try:
            verdicts.append(sorted(con.execute(
                "select check_name, asset, severity, passed, observed_value "
                "from governance.check_results where run_id = (select run_id from "
                "governance.check_results order by checked_at desc limit 1)").fetchall()))
        finally:
            con.close()
    duck, spark = verdicts
    assert len(duck) > 300 and any(not v[3] for v in duck)  # WARNs failed on the hostile rows
    assert spark == duck


def test_the_compared_tables_hold_the_hostile_plants_rows(runs, hostile_files):
    """The hand-written rows reached the compared tables (quarantine, dictionary gaps, the
    complaint trace), so the equality above covers them, not only the generated plant."""
    duck, _ = runs
    files = sorted(hostile_files)
    con = duckdb.connect(str(duck.settings.warehouse), read_only=True)
    try:
        one = lambda sql: con.execute(sql, [files]).fetchone()[0]
        assert one("select count(*) from governance.staging_rejects "
                   "where source_file in (select unnest(?))") > 0
        assert one("select count(*) from governance.dictionary_gaps "
                   "where example_file in (select unnest(?))") > 0
        assert one("select count(*) from marts_build.complaint_trace where complaint_id in "
                   "(select complaint_id from raw.crm__complaints "
                   " where _source_file in (select unnest(?)))") > 0
    finally:
        con.close()
