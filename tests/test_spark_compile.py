"""The dbt project compiles for Apache Spark (issue 17), so DuckDB-only SQL cannot creep back
into a model or macro: `dbt compile --target spark` in dbt-spark's session mode (a local Spark
in the dbt process), against the dictionary rendered as Parquet, with no landing at all."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.dictionary.tables import render_files
from orchestration.lib.settings import DBT_PROJECT_DIR
from orchestration.lib.spark import spark_dbt_command, spark_env, spark_paths, spark_process_env

# DuckDB spellings that Spark does not read (or reads differently)
DUCKDB_ONLY = {
    "list_transform / list_filter / list_sort": r"\blist_(transform|filter|sort|position)\(",
    "DuckDB lambda": r"\blambda\s+_",
    "regexp_full_match": r"\bregexp_full_match\(",
    "regexp_matches": r"\bregexp_matches\(",
    "try_strptime": r"\btry_strptime\(",
    "strptime %-format": r"'[^']*%[YmdHMS][^']*'",
    "MAP literal": r"\bMAP\s*\{",
    "struct literal to_json": r"to_json\(\{",
    "* exclude": r"\*\s*exclude\s*\(",
    "timezone()": r"\btimezone\(",
    "ord()": r"\bord\(",
    "varchar type": r"\bas\s+varchar\b",
    "1-based list index": r"\)\[1\]",
    "to_milliseconds": r"\bto_milliseconds\(",
}


@pytest.fixture(scope="module")
def spark_compiled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spark_compile")
    render_files(load_dictionary(), tmp / "dictionary")
    paths = spark_paths(tmp / "home")
    env = spark_process_env({k: v for k, v in os.environ.items()
                             if not k.startswith("QUALITRACE_") or k == "QUALITRACE_SPARK_PYTHON"})
    env.update(spark_env(paths, tmp / "dictionary"), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    target = tmp / "target"
    proc = subprocess.run(
        spark_dbt_command(["compile", "--target", "spark", "--project-dir", str(DBT_PROJECT_DIR),
                           "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target),
                           "--log-path", str(tmp / "logs"), "--no-use-colors"]),
        check=False, env=env, capture_output=True, text=True, cwd=tmp, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    compiled = {p.relative_to(target).as_posix(): p.read_text(encoding="utf-8")
                for p in (target / "compiled").rglob("*.sql")}
    assert compiled, "nothing compiled"
    return compiled


def test_every_model_compiles_for_spark_without_duckdb_only_sql(spark_compiled):
    models = {k: v for k, v in spark_compiled.items() if "/models/" in k}
    assert len(models) >= 60, sorted(models)
    found = [(name, path) for path, sql in models.items()
             for name, pattern in DUCKDB_ONLY.items() if re.search(pattern, sql, re.IGNORECASE)]
    assert not found, found[:20]


def test_spark_sql_carries_the_dictionary_in_spark_dialect(spark_compiled):
    products = next(v for k, v in spark_compiled.items() if k.endswith("base_erp__products.sql"))
    # strptime formats of the dictionary as Java patterns; a compact date keeps fixed widths
    assert "'yyyy-M-d'" in products and "'yyyyMMdd'" in products
    # a 14-digit PLC time, a 12-hour clock, a fraction of a second
    assert "'yyyyMMddHHmmss'" in products and "'yyyy/M/d h:m:s a'" in products
    assert "'yyyy-M-d H:m:s.SSSSSS'" in products
    # regex literals keep their backslashes (Spark unescapes '\d' to 'd') and anchor with \z
    assert r"\\d{4}" in products and r"\\z'" in products
    complaints = next(v for k, v in spark_compiled.items() if k.endswith("base_crm__complaints.sql"))
    # back-references in replacements are Java's $n
    assert "'$2'" in complaints and "'\\2'" not in complaints
    channel = next(v for v in load_dictionary().vocabularies if v.domain == "channel")
    assert all(f"'{v.canonical}'" in complaints for v in channel.values)
