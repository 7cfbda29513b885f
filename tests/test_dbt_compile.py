"""dbt compiles without warehouse contents: the compile-time dictionary lookups read the
dictionary rendered as Parquet files ($QUALITRACE_DICTIONARY_TABLES), never `dictionary.*`."""

from __future__ import annotations

import os
import subprocess

import duckdb

from orchestration.lib.dbt_project import dbt_cli_path
from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.dictionary.tables import render_files
from orchestration.lib.settings import DBT_PROJECT_DIR


def test_dbt_compile_succeeds_against_an_empty_duckdb_file(tmp_path):
    warehouse = tmp_path / "empty.duckdb"
    duckdb.connect(str(warehouse)).close()
    dictionary = load_dictionary()
    files = render_files(dictionary, tmp_path / "dictionary")
    assert {p.stem for p in files} >= {"fields", "vocabularies", "units", "problem_keywords"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUALITRACE_")}
    env.update(QUALITRACE_WAREHOUSE=str(warehouse), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               QUALITRACE_DICTIONARY_TABLES=str(tmp_path / "dictionary"))
    target = tmp_path / "target"
    proc = subprocess.run(
        [dbt_cli_path(), "compile", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
         str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(tmp_path / "logs"),
         "--no-use-colors"],
        check=False, env=env, capture_output=True, text=True, cwd=DBT_PROJECT_DIR, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:  # nothing was created: compile read no warehouse table
        assert con.execute("select count(*) from information_schema.tables").fetchone()[0] == 0
    finally:
        con.close()
    # the dictionary reached the SQL: the complaints base model knows every channel code
    compiled = next(target.rglob("base_crm__complaints.sql")).read_text(encoding="utf-8")
    channel = next(v for v in dictionary.vocabularies if v.domain == "channel")
    codes = {v.canonical for v in channel.values}
    assert codes and all(f"'{code}'" in compiled for code in codes), compiled[:2000]
