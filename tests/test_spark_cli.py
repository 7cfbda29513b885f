"""`qualitrace spark` says what is missing before it starts anything."""

from __future__ import annotations

import duckdb

from tests.support.runs import cli_env, qualitrace


def test_without_a_run_it_asks_for_one(tmp_path):
    proc = qualitrace("spark", "--home", str(tmp_path / "home"), timeout=120)
    assert proc.returncode == 2
    assert "no warehouse" in proc.stdout and "qualitrace run" in proc.stdout


def test_without_the_spark_environment_it_names_the_make_target(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    duckdb.connect(str(home / "warehouse.duckdb")).close()
    proc = qualitrace("spark", "--home", str(home), timeout=120,
                      env=cli_env(QUALITRACE_SPARK_PYTHON=str(tmp_path / "no-such-python")))
    assert proc.returncode == 2
    assert "make spark-env" in proc.stdout and "no-such-python" in proc.stdout
    assert not (home / "spark" / "landing").exists()  # nothing exported
