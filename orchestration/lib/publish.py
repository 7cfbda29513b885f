"""Blue/green publish of the marts.

dbt builds the marts into `marts_build` (green). Only after every blocking check passed,
`publish_marts` copies all of them into `marts` (blue) in ONE DuckDB transaction, so
readers see either the previous marts or the new ones, never a mix; then it writes
`<home>/marts/<name>.parquet` for each, via a temp file renamed into place.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import connect

# The published contract (DESIGN.md), in publish order.
MARTS: tuple[str, ...] = (
    "complaint_trace",
    "batch_quality",
    "forward_trace",
    "suspect_ranking",
    "problem_pareto",
    "complaint_trend",
    "spc_violations",
    "supplier_scorecard",
)

DESCRIPTIONS = {
    "complaint_trace": "One row per distinct complaint, traced back to batch, line, "
                       "machines, material lots and suppliers.",
    "batch_quality": "One row per batch: units, complaints, ppm, inspection failures, risk.",
    "forward_trace": "One row per (suspect, affected batch, shipment): who else received it.",
    "suspect_ranking": "One row per (problem type, suspect): exposure, lift, p-value, rank.",
    "problem_pareto": "Problem type x period: complaints, share, cumulative share.",
    "complaint_trend": "Week x dimension: complaints, units shipped, rate, spikes.",
    "spc_violations": "One row per Western Electric rule violation on process readings.",
    "supplier_scorecard": "One row per supplier: lots, IQC reject rate, complaint ppm.",
}

# Published marts are written in this order: the forward trace is read by one suspect at a
# time (`qualitrace where-used`), so rows of one suspect share a few Parquet row groups and
# table blocks, whose min/max statistics let DuckDB skip the rest (10.9M rows at scale 10).
CLUSTER_BY: dict[str, tuple[str, ...]] = {
    "forward_trace": ("suspect_kind", "suspect_id", "batch_code"),
    "complaint_trace": ("complaint_id",),
}

BUILD_SCHEMA = "marts_build"
PUBLISH_SCHEMA = "marts"


class PublishError(RuntimeError):
    """The marts could not be published (nothing was changed)."""


def _tables_in(con, schema: str) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [schema]
    ).fetchall()
    return {r[0] for r in rows}


def publish_marts(settings: Settings, names: tuple[str, ...] = MARTS) -> dict[str, int]:
    """Swap `marts_build.*` into `marts.*` atomically, then refresh the Parquet copies.

    Returns row counts per mart. Raises PublishError naming any mart missing from
    `marts_build`; in that case the published marts are left as they were.
    """
    counts: dict[str, int] = {}
    with connect(settings) as con:
        missing = [n for n in names if n not in _tables_in(con, BUILD_SCHEMA)]
        if missing:
            raise PublishError(
                f"{settings.warehouse}: cannot publish, not built in schema "
                f"{BUILD_SCHEMA}: {', '.join(missing)} (published marts left unchanged)"
            )
        con.execute("begin transaction")
        try:
            con.execute(f"create schema if not exists {PUBLISH_SCHEMA}")
            for n in names:
                order = _order_by(con, n)
                con.execute(
                    f"create or replace table {PUBLISH_SCHEMA}.{n} as "
                    f"select * from {BUILD_SCHEMA}.{n}{order}"
                )
                counts[n] = con.execute(f"select count(*) from {PUBLISH_SCHEMA}.{n}").fetchone()[0]
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        write_parquet(con, settings.parquet_dir, names)
    return counts


def _order_by(con, name: str) -> str:
    """` order by ...` for a mart listed in CLUSTER_BY (its columns that exist), else ''."""
    have = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? "
        "and table_name = ?", [BUILD_SCHEMA, name]).fetchall()}
    cols = [c for c in CLUSTER_BY.get(name, ()) if c in have]
    return (" order by " + ", ".join(cols)) if cols else ""


def write_parquet(con, out_dir: Path, names: tuple[str, ...] = MARTS) -> dict[str, Path]:
    """Write `marts.<name>` to `<out_dir>/<name>.parquet` atomically (temp + rename)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(".*.parquet.tmp*"):
        stale.unlink(missing_ok=True)
    paths = {}
    for n in names:
        final = out_dir / f"{n}.parquet"
        tmp = out_dir / f".{n}.parquet.tmp{os.getpid()}"
        # the table is already in CLUSTER_BY order, and a scan keeps insertion order
        con.execute(
            f"copy (select * from {PUBLISH_SCHEMA}.{n}) to '{_sql_path(tmp)}' (format parquet)"
        )
        os.replace(tmp, final)
        paths[n] = final
    return paths


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")
