"""Row-level parity of two builds of the dbt project (DuckDB and Spark, issue 17).

"All green" on another engine proves little: a regex dialect or a string-escape difference
turns every batch code NULL while every test still passes. This compares what the two
engines wrote, table by table: the column names, the row count, and the multiset of rows
with every value in one canonical text form (doubles rounded to 6 decimals, timestamps as
naive UTC, lists as text), so a difference names the table, the columns and example rows.

Both sides are read by DuckDB: the DuckDB build from its warehouse file, the Spark build from
the Parquet files of its tables (`SparkPaths.table_glob`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# lineage columns that legitimately differ between two builds of the same landing: hashes of
# each engine's own rendered SQL (a change of it re-conforms / re-classifies / re-derives; the
# forward trace's per-batch fingerprints exist on DuckDB only)
IGNORED_COLUMNS = frozenset({"_conform_hash", "_classify_hash", "_inputs_hash",
                             "_source_versions"})
# the schemas dbt builds, and the tables in them that Python writes (the gate, alerting)
DBT_SCHEMAS = ("staging", "intermediate", "marts_build", "governance")
# wall-clock times of ingest: they differ between two homes that each landed the same exports
# (the engines are compared on one landing, or on two with these left out)
INGEST_TIMES = frozenset({"_loaded_at", "loaded_at", "first_seen", "last_seen", "quarantined_at"})
# tables in dbt's schemas that no model builds: the orchestration's, and the state table an
# incremental forward_trace kept before 2026-12-06 (a home built then may still hold it)
NOT_DBT = frozenset({("governance", "alerts"), ("governance", "check_results"),
                     ("intermediate", "forward_trace__state")})
DECIMALS = 6


@dataclass
class TableParity:
    """How one table of the two builds compares."""

    table: str
    rows_left: int = 0
    rows_right: int = 0
    only_left: int = 0
    only_right: int = 0
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def equal(self) -> bool:
        return (self.error is None and not self.missing_columns and not self.extra_columns
                and self.only_left == 0 and self.only_right == 0
                and self.rows_left == self.rows_right)

    def describe(self) -> str:
        if self.equal:
            return f"{self.table}: {self.rows_left} rows equal"
        if self.error:
            return f"{self.table}: {self.error}"
        parts = [f"{self.table}: {self.rows_left} vs {self.rows_right} rows"]
        if self.missing_columns:
            parts.append(f"columns missing on the right {self.missing_columns}")
        if self.extra_columns:
            parts.append(f"columns only on the right {self.extra_columns}")
        if self.only_left or self.only_right:
            parts.append(f"{self.only_left} rows only left, {self.only_right} only right")
        return "; ".join(parts) + "".join(f"\n    {e}" for e in self.examples)


def _canonical(column: str, data_type: str) -> str:
    """SQL for the canonical text of one column (DuckDB)."""
    q = '"' + column.replace('"', '""') + '"'
    t = data_type.upper()
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return f"cast(round(cast({q} as double), {DECIMALS}) as varchar)"
    if t.startswith("TIMESTAMP"):
        return f"strftime(cast({q} as timestamp), '%Y-%m-%d %H:%M:%S.%f')"
    if t in ("HUGEINT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER"):
        return f"cast(cast({q} as bigint) as varchar)"
    return f"cast({q} as varchar)"


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"describe select * from {relation}").fetchall()}


def compare_relations(con: duckdb.DuckDBPyConnection, table: str, left: str, right: str,
                      examples: int = 3, ignore: Iterable[str] = ()) -> TableParity:
    """Compare two relations readable by `con` (a table name or a read_parquet(...) call),
    leaving out IGNORED_COLUMNS and `ignore`."""
    result = TableParity(table)
    ignored = IGNORED_COLUMNS | set(ignore)
    try:
        lc, rc = _columns(con, left), _columns(con, right)
    except duckdb.Error as exc:
        result.error = f"cannot read: {str(exc).splitlines()[0]}"
        return result
    result.missing_columns = sorted(set(lc) - set(rc) - ignored)
    result.extra_columns = sorted(set(rc) - set(lc) - ignored)
    common = [c for c in lc if c in rc and c not in ignored]
    left_sql = ", ".join(f"{_canonical(c, lc[c])} as c{i}" for i, c in enumerate(common))
    right_sql = ", ".join(f"{_canonical(c, rc[c])} as c{i}" for i, c in enumerate(common))
    con.execute(f"create or replace temp table _parity_l as select {left_sql} from {left}")
    con.execute(f"create or replace temp table _parity_r as select {right_sql} from {right}")
    result.rows_left = con.execute("select count(*) from _parity_l").fetchone()[0]
    result.rows_right = con.execute("select count(*) from _parity_r").fetchone()[0]
    result.only_left = con.execute(
        "select count(*) from (select * from _parity_l except all select * from _parity_r)").fetchone()[0]
    result.only_right = con.execute(
        "select count(*) from (select * from _parity_r except all select * from _parity_l)").fetchone()[0]
    if result.only_left or result.only_right:
        result.examples += _differing_columns(con, common)
        for side, a, b in (("left", "_parity_l", "_parity_r"), ("right", "_parity_r", "_parity_l")):
            rows = con.execute(f"select * from (select * from {a} except all select * from {b}) "
                               f"order by all limit {examples}").fetchall()
            result.examples += [f"only {side}: {dict(zip(common, r, strict=True))}" for r in rows]
    return result


def _differing_columns(con: duckdb.DuckDBPyConnection, common: list[str]) -> list[str]:
    """Columns whose value multisets differ (the likely culprits)."""
    out = []
    for i, c in enumerate(common):
        n = con.execute(f"select count(*) from (select c{i} from _parity_l except all "
                        f"select c{i} from _parity_r)").fetchone()[0]
        m = con.execute(f"select count(*) from (select c{i} from _parity_r except all "
                        f"select c{i} from _parity_l)").fetchone()[0]
        if n or m:
            out.append(f"column {c}: {n} values only left, {m} only right")
    return out


def compare_builds(warehouse: Path, spark_table_glob, tables: Iterable[tuple[str, str]],
                   examples: int = 3, ignore: Iterable[str] = ()) -> list[TableParity]:
    """Compare each (schema, table) of the DuckDB `warehouse` with the Spark build's Parquet
    files (`spark_table_glob(schema, table)` -> a glob)."""
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{warehouse}' as duck (read_only)")
        out = []
        for schema, table in tables:
            glob = spark_table_glob(schema, table)
            out.append(compare_relations(
                con, f"{schema}.{table}", f'duck."{schema}"."{table}"',
                f"read_parquet('{glob}')", examples, ignore))
        return out
    finally:
        con.close()


def built_tables(warehouse: Path, schemas: Iterable[str]) -> list[tuple[str, str]]:
    """(schema, table) of every base table of `schemas` in a DuckDB warehouse, and of every
    mart in marts_build (forward_trace is a view there on DuckDB, a table on Spark); the
    staging views are left out (their base_ tables are compared)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return [tuple(r) for r in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where (table_type = 'BASE TABLE' or table_schema = 'marts_build') "
            "and table_schema in (select unnest(?)) order by 1, 2",
            [list(schemas)]).fetchall()]
    finally:
        con.close()


def compare_dbt_tables(warehouse: Path, spark_table_glob, examples: int = 3,
                       ignore: Iterable[str] = ()) -> list[TableParity]:
    """compare_builds over every table dbt built in the DuckDB `warehouse` (DBT_SCHEMAS
    without NOT_DBT)."""
    tables = [t for t in built_tables(warehouse, DBT_SCHEMAS) if t not in NOT_DBT]
    return compare_builds(warehouse, spark_table_glob, tables, examples, ignore)


def compare_published(left: Path, right: Path, marts: Iterable[str],
                      ignore: Iterable[str] = ()) -> list[TableParity]:
    """Compare the published marts of two homes (`<home>/marts/<mart>.parquet`, what analysts
    and `qualitrace trace` read)."""
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        return [compare_relations(con, m, f"read_parquet('{Path(left) / m}.parquet')",
                                  f"read_parquet('{Path(right) / m}.parquet')", ignore=ignore)
                for m in marts]
    finally:
        con.close()
