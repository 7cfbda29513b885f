"""Which engine builds the dbt project for a run: DuckDB (the default) or Apache Spark.

`qualitrace run --engine spark [--spark-master URL]`, the environment (`QUALITRACE_ENGINE`,
`QUALITRACE_SPARK_MASTER`) or the `qualitrace` resource's `engine` / `spark_master` config
choose it. Ingest, the gate and publishing run the same way on both: on Spark, dbt's tables
are Parquet files that the warehouse reads in place (`spark.link_spark_tables`).
"""

from __future__ import annotations

import os

DUCKDB = "duckdb"
SPARK = "spark"
ENGINES = (DUCKDB, SPARK)
ENGINE_ENV = "QUALITRACE_ENGINE"
MASTER_ENV = "QUALITRACE_SPARK_MASTER"


class EngineError(ValueError):
    """An engine name Qualitrace does not know."""


def resolve_engine(value: str | None = None) -> str:
    """`value`, else $QUALITRACE_ENGINE, else duckdb; an unknown name is an error naming
    the choices."""
    name = (value or os.environ.get(ENGINE_ENV) or DUCKDB).strip().lower()
    if name not in ENGINES:
        source = "engine" if value else ENGINE_ENV
        raise EngineError(f"{source}={name!r}: unknown engine (choose {' or '.join(ENGINES)})")
    return name


def resolve_master(value: str | None = None) -> str | None:
    """The Spark master URL: `value`, else $QUALITRACE_SPARK_MASTER, else None (local[2] in
    dbt's process)."""
    return value or os.environ.get(MASTER_ENV) or None
