"""dbt's unit tests (tricky SQL on fixed inputs): run here, not in every pipeline run.

`qualitrace run` builds with `--exclude-resource-type unit_test` (dbt's advice for
production); this runs them against a copy of the session plant's warehouse, where the
relations their inputs are typed from exist.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.lib.settings import DBT_PROJECT_DIR
from tests.support.homes import copy_home

pytestmark = pytest.mark.integration


def test_dbt_unit_tests_pass(pipeline_home, tmp_path):
    home = copy_home(pipeline_home, tmp_path / "home")
    target = tmp_path / "target"
    env = {**os.environ, "QUALITRACE_WAREHOUSE": str(home.warehouse)}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "test", "--select", "test_type:unit",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(tmp_path / "logs")],
        env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    unit = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit) >= 5, [r["unique_id"] for r in results]
    assert all(r["status"] == "pass" for r in unit), [(r["unique_id"], r["status"]) for r in unit]
