"""The same plant on a real Spark standalone cluster equals the DuckDB build (issue 17).

A Spark master and two workers are started on 127.0.0.1 from the pyspark package; the dbt
project is built (`dbt build`: models and data tests) on that cluster from the
landing of a DuckDB run of the same exports; then every table the DuckDB build materialised
(staging base tables, intermediate, marts, dbt's governance tables) is compared row for row
(orchestration/lib/engine_parity.py: column names, row counts and the multiset of rows,
doubles to 6 decimals). The exports are two plants in one folder: a generated one (every
mart has rows: suspect ranking, SPC violations, forward trace) and the hand-written hostile
plant of the gate and quarantine tests (tests/support/hostile_plant.py: foreign spellings,
Chinese headers, unlinked CAPA, `inf`, `1e400`, `265,5`, corrections by later files,
personal data). One build for both: each Spark build pays a JVM start and about a second per
model and test, whatever the rows.
Only a row-level comparison catches an engine difference: a regex dialect turns batch codes
NULL while every dbt test still passes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.engine_parity import compare_dbt_tables
from orchestration.lib.spark import run_spark_build, spark_paths, start_standalone_cluster
from tests.support import hostile_plant
from tests.support.runs import generate_plant, run_pipeline

pytestmark = pytest.mark.integration



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
def built(cluster, hostile_files, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spark_plants")
    plant = generate_plant(tmp / "exports", scale=0.01, seed=7)
    for rel, f in hostile_files.items():
        target = plant.exports / rel
        assert not target.exists(), f"{rel}: in both plants"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
    run = run_pipeline(tmp / "home", plant.exports)
    assert run.returncode == 0, run.output[-3000:]
    # dbt's unit tests are left out, as in every pipeline run (orchestration/defs/dbt): the
    # suite runs them on DuckDB, and this comparison checks the same SQL on real rows
    build = run_spark_build(run.settings, master=cluster.master_url, command="build",
                            extra_args=["--exclude-resource-type", "unit_test"])
    log = build.log.read_text(encoding="utf-8", errors="replace")
    assert build.ok, log[-4000:]
    results = compare_dbt_tables(run.settings.warehouse, spark_paths(run.settings.home).table_glob)
    return run, build, log, results


def test_the_build_ran_on_the_two_workers_and_passed_its_tests(cluster, built):
    assert cluster.alive_workers() == 2
    _, build, log, _ = built
    assert "Completed successfully" in log and "PASS=" in log
    assert build.landing_rows["raw.crm__complaints"] > 0  # Spark read the DuckDB run's landing


def test_every_dbt_table_equals_the_duckdb_build(built):
    _, _, _, results = built
    names = {r.table for r in results}
    assert {"marts_build.suspect_ranking", "marts_build.spc_violations",
            "marts_build.forward_trace", "marts_build.complaint_trace",
            "staging.base_mes__process_readings"} <= names
    unequal = [r.describe() for r in results if not r.equal]
    assert not unequal, "\n".join(unequal)
    rows = {r.table: r.rows_left for r in results}
    assert rows["marts_build.suspect_ranking"] > 0 and rows["marts_build.forward_trace"] > 0
    assert rows["marts_build.spc_violations"] > 0


def test_the_compared_tables_hold_the_hostile_plants_rows(built, hostile_files):
    """The hand-written rows reached the compared tables (quarantine, dictionary gaps, the
    complaint trace), so the equality above covers them, not only the generated plant."""
    run, _, _, _ = built
    files = sorted(hostile_files)
    con = duckdb.connect(str(run.settings.warehouse), read_only=True)
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
