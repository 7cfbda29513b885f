"""The same plants on a real Spark standalone cluster equal the DuckDB build (issue 17).

A Spark master and two workers are started on 127.0.0.1 from the pyspark package (once for
the module); the dbt project is built on that cluster from the landing of a DuckDB run of the
same exports; then every table the DuckDB build materialised (staging base tables,
intermediate, marts, dbt's governance tables) is compared row for row
(orchestration/lib/engine_parity.py: column names, row counts and the multiset of rows,
doubles to 6 decimals). Two plants: a generated one (every mart has rows: suspect ranking,
SPC violations, forward trace), and the hand-written hostile plant of the gate and
quarantine tests (tests/support/hostile_plant.py: foreign spellings, unlinked CAPA, `inf`,
`1e400`, `265,5`, corrections by later files, personal data: the shared `hostile_run`),
built without dbt's tests.
Only a row-level comparison catches an engine difference: a regex dialect turns batch codes
NULL while every dbt test still passes.
"""

from __future__ import annotations

import pytest

from orchestration.lib.engine_parity import compare_dbt_tables
from orchestration.lib.spark import run_spark_build, spark_paths, start_standalone_cluster
from tests.support.runs import generate_plant, run_pipeline

pytestmark = pytest.mark.integration



@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = start_standalone_cluster(tmp_path_factory.mktemp("cluster"), workers=2, cores=1,
                                       memory="1g")
    yield started
    started.stop()


def _spark_and_compare(cluster, settings, command):
    build = run_spark_build(settings, master=cluster.master_url, command=command)
    log = build.log.read_text(encoding="utf-8", errors="replace")
    assert build.ok, log[-4000:]
    return build, log, compare_dbt_tables(settings.warehouse,
                                          spark_paths(settings.home).table_glob)


@pytest.fixture(scope="module")
def generated(cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spark_generated")
    plant = generate_plant(tmp / "exports", scale=0.01, seed=7)
    run = run_pipeline(tmp / "home", plant.exports)
    assert run.returncode == 0, run.output[-3000:]
    return _spark_and_compare(cluster, run.settings, "build")


@pytest.fixture(scope="module")
def hostile(cluster, hostile_run):
    """The shared run over the hostile plant (conftest.py), built again on Spark (models only:
    `dbt run`; its data tests ran on DuckDB)."""
    return _spark_and_compare(cluster, hostile_run.settings, "run")


def test_the_build_ran_on_the_two_workers_and_passed_its_tests(cluster, generated):
    assert cluster.alive_workers() == 2
    build, log, _ = generated
    assert "Completed successfully" in log and "PASS=" in log
    assert build.landing_rows["raw.crm__complaints"] > 0  # Spark read the DuckDB run's landing


def test_every_dbt_table_of_a_generated_plant_equals_the_duckdb_build(generated):
    _, _, results = generated
    names = {r.table for r in results}
    assert {"marts_build.suspect_ranking", "marts_build.spc_violations",
            "marts_build.forward_trace", "marts_build.complaint_trace",
            "staging.base_mes__process_readings"} <= names
    unequal = [r.describe() for r in results if not r.equal]
    assert not unequal, "\n".join(unequal)
    rows = {r.table: r.rows_left for r in results}
    assert rows["marts_build.suspect_ranking"] > 0 and rows["marts_build.forward_trace"] > 0
    assert rows["marts_build.spc_violations"] > 0


def test_every_dbt_table_of_the_hand_written_hostile_plant_equals_the_duckdb_build(hostile):
    _, _, results = hostile
    unequal = [r.describe() for r in results if not r.equal]
    assert not unequal, "\n".join(unequal)
    rows = {r.table: r.rows_left for r in results}
    # the hostile rows reached both engines' quarantine and gaps, not only the good rows
    assert rows["governance.staging_rejects"] > 0 and rows["governance.dictionary_gaps"] > 0
    assert rows["marts_build.complaint_trace"] > 0
