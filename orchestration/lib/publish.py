"""Blue/green publish of the marts, as one versioned set readers never see torn.

dbt builds the marts into `marts_build` (green). Only after every blocking check passed,
`publish_marts` publishes them (blue) in this order:

1. a new version directory `<home>/published/<version>/` is written beside the current one:
   `<mart>.parquet` for every mart (files of marts not republished are hard-linked from the
   current version; all written as `.<version>.partial`, then renamed), `serving.duckdb`
   (schema `marts`: one view per Parquet file of this version) and `MANIFEST.json` last,
   which marks the version complete;
2. ONE atomic rename switches the pointer `<home>/marts` (a symlink to that version): the
   Parquet files and the serving database `<home>/serving.duckdb` (a fixed symlink to
   `marts/serving.duckdb`) change together, so a reader sees the previous set or the new one,
   never a mix; a reader holding the serving database open keeps the version it opened (its
   views name that version's files) until it reconnects, and never blocks a run;
3. the pipeline's own warehouse schema `marts` is swapped in ONE DuckDB transaction.

A kill at any step leaves the previous set published; the next publish removes the partial
directory. The three newest versions are kept (a reader's version outlives a whole run).

A mart whose content did not change is not written again: `content_fingerprint` (its columns
and types, row count and an order-free digest of every row) equals the one the current
version's MANIFEST records for its Parquet file (then the file is hard-linked into the new
version), or the one of the warehouse's `marts` table (then that table stays; publish keeps
each table's fingerprint as its comment, written in the transaction that wrote its rows, so
it is not computed again). A new
complaint rebuilds the 1.1M-row forward trace at scale 1 without changing a row: writing it
twice more cost about 3 s of a 40 s run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from orchestration.lib.column_docs import comment_statements, parquet_kv
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


FINGERPRINT_COMMENT = "qualitrace content fingerprint: "


def _published_fingerprints(con) -> dict[str, str | None]:
    """{table: its content fingerprint} of the warehouse's published marts: the one publish
    wrote as the table's comment in the transaction that wrote its rows, or None when the
    table has no such comment (published before comments were written, or commented by
    someone else): then it is computed."""
    rows = con.execute(
        "select table_name, comment from duckdb_tables() where schema_name = ? "
        "and database_name = current_database()", [PUBLISH_SCHEMA]).fetchall()
    return {name: (comment[len(FINGERPRINT_COMMENT):]
                   if comment and comment.startswith(FINGERPRINT_COMMENT) else None)
            for name, comment in rows}


def publish_marts(settings: Settings, names: tuple[str, ...] = MARTS) -> dict[str, int]:
    """Publish `marts_build.*` as a new version (Parquet + serving database, one pointer
    switch), then swap them into the warehouse's `marts.*` in one transaction.

    Returns row counts per mart. Raises PublishError naming any mart missing from
    `marts_build`; in that case nothing published changes.
    """
    counts: dict[str, int] = {}
    with connect(settings) as con:
        missing = [n for n in names if n not in _tables_in(con, BUILD_SCHEMA)]
        if missing:
            raise PublishError(
                f"{settings.warehouse}: cannot publish, not built in schema "
                f"{BUILD_SCHEMA}: {', '.join(missing)} (published marts left unchanged)"
            )
        built = {n: content_fingerprint(con, BUILD_SCHEMA, n) for n in names}
        publish_version(settings, con, {n: f"{BUILD_SCHEMA}.{n}" for n in names},
                        order_schema=BUILD_SCHEMA, fingerprints=built)
        _crash_point("warehouse")
        published = _published_fingerprints(con)
        con.execute("begin transaction")
        try:
            con.execute(f"create schema if not exists {PUBLISH_SCHEMA}")
            for n in names:
                counts[n] = built[n].rows
                if n in published and (published[n] or content_fingerprint(
                        con, PUBLISH_SCHEMA, n)) == built[n]:
                    continue  # the published table holds these very rows already
                order = _order_by(con, n)
                con.execute(
                    f"create or replace table {PUBLISH_SCHEMA}.{n} as "
                    f"select * from {BUILD_SCHEMA}.{n}{order}"
                )
                con.execute(f"comment on table {PUBLISH_SCHEMA}.{n} is "
                            f"'{FINGERPRINT_COMMENT}{built[n]}'")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    return counts


# ---- versions -----------------------------------------------------------------------------

VERSIONS_DIR = "published"
SERVING_FILE = "serving.duckdb"
MANIFEST = "MANIFEST.json"
KEEP_VERSIONS = 3
CRASH_ENV = "QUALITRACE_TEST_CRASH_AT"  # tests only: SIGKILL this process at a named step


def _crash_point(step: str) -> None:
    """Fault injection for the kill -9 tests: dies here when CRASH_ENV names this step."""
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def versions_root(settings: Settings) -> Path:
    return settings.home / VERSIONS_DIR


def serving_path(settings: Settings) -> Path:
    """The database analysts open: `<home>/serving.duckdb` (schema `marts`)."""
    return settings.home / SERVING_FILE


def current_version(settings: Settings) -> Path | None:
    """The published version directory `<home>/marts` points at (None before any publish)."""
    p = settings.parquet_dir
    if p.is_symlink():
        target = p.resolve()
        return target if target.is_dir() else None
    return p if p.is_dir() else None


class Fingerprint(str):
    """A table's content digest (`content_fingerprint`); `rows` its row count."""

    rows: int

    def __new__(cls, digest: str, rows: int) -> Self:
        fp = super().__new__(cls, digest)
        fp.rows = rows
        return fp


def content_fingerprint(con, schema: str, table: str) -> Fingerprint:
    """Columns (names and types, in order), row count and an order-independent digest of the
    rows (XOR and sum of DuckDB's 64-bit row hashes) of `schema.table`: equal fingerprints
    mean the same rows, whatever their physical order (about 0.1 s per million rows)."""
    cols = con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = ? "
        "and table_name = ? order by ordinal_position", [schema, table]).fetchall()
    rows, xor, total = con.execute(
        f'select count(*), bit_xor(hash(t)), sum(hash(t)::hugeint) from "{schema}"."{table}" t'
    ).fetchone()
    digest = hashlib.sha256(json.dumps([cols, rows, str(xor), str(total)]).encode()).hexdigest()
    return Fingerprint(digest, int(rows))


def _parquet_fingerprint(name: str, content: str, order: str) -> str:
    """What a mart's Parquet file is made of: its rows, their order and its key-value
    metadata (the column docs)."""
    return hashlib.sha256(f"{content}\0{order}\0{parquet_kv(name)}".encode()).hexdigest()


def _manifest(version: Path | None) -> dict:
    try:
        return json.loads((version / MANIFEST).read_text(encoding="utf-8")) if version else {}
    except (OSError, ValueError):
        return {}


def publish_version(settings: Settings, con, relations: dict[str, str],
                    order_schema: str | None = None,
                    fingerprints: dict[str, str] | None = None) -> Path:
    """Write `relations` ({mart: "schema.table"} readable by `con`) as a new version (the
    other marts of the current version carried over), then switch `<home>/marts` to it.

    With `fingerprints` ({mart: content_fingerprint}), a mart whose Parquet file in the
    current version was written from the same rows, order and metadata is hard-linked
    instead of written again; when that holds for every mart of `relations`, no new version
    is written at all and the current one is returned."""
    root = versions_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    current = current_version(settings)
    _remove_partials(root, current)
    previous = _manifest(current).get("parquet_fingerprints", {})
    orders = {name: _order_by(con, name, order_schema or relation.split(".")[0])
              for name, relation in relations.items()}
    parquet_fps = {name: _parquet_fingerprint(name, fp, orders[name])
                   for name, fp in (fingerprints or {}).items() if name in relations}
    same = {name for name, fp in parquet_fps.items() if current is not None
            and previous.get(name) == fp and (current / f"{name}.parquet").is_file()}
    if same and same == set(relations):
        return current  # readers already have exactly these marts
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{os.getpid()}"
    final = root / version
    partial = root / f".{version}.partial"
    partial.mkdir()
    kept = dict(parquet_fps)
    if current is not None:
        for f in sorted(current.glob("*.parquet")):
            if f.stem not in relations:
                _link_or_copy(f, partial / f.name)
                if f.stem in previous:
                    kept[f.stem] = previous[f.stem]
    _crash_point("parquet")
    rows, unchanged = {}, []
    for name, relation in relations.items():
        target = partial / (name + ".parquet")
        if name in same:
            _link_or_copy(current / target.name, target)
            unchanged.append(name)
            continue
        con.execute(f"copy (select * from {relation}{orders[name]}) to '{_sql_path(target)}' "
                    f"(format parquet, {parquet_kv(name)})")
        content = (fingerprints or {}).get(name)
        rows[name] = (content.rows if isinstance(content, Fingerprint) else
                      con.execute(f"select count(*) from {relation}").fetchone()[0])
    os.rename(partial, final)  # still incomplete: no MANIFEST yet
    _crash_point("serving")
    marts = sorted(f.stem for f in final.glob("*.parquet"))
    _write_serving(final / SERVING_FILE, final, marts)
    tmp = final / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(
        {"version": version, "published_at": datetime.now(UTC).isoformat(), "marts": marts,
         "rows_written": rows, "unchanged": unchanged, "parquet_fingerprints": kept},
        indent=1), encoding="utf-8")
    os.replace(tmp, final / MANIFEST)  # the version is complete
    _crash_point("switch")
    _switch(settings, final)
    _crash_point("switched")
    _keep_newest(root, final)
    return final


def _write_serving(path: Path, final_dir: Path, marts: list[str]) -> None:
    """A small DuckDB file of views over this version's Parquet files (absolute paths of the
    final directory, so an open connection keeps reading its own version)."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("begin transaction")  # one commit, not one per view and column comment
        con.execute("create schema if not exists marts")
        for m in marts:
            con.execute(f"create view marts.{m} as select * from "
                        f"read_parquet('{_sql_path(final_dir / (m + '.parquet'))}')")
            cols = [r[0] for r in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'marts' "
                "and table_name = ?", [m]).fetchall()]
            for stmt in comment_statements(m, cols):  # every column explained where read
                con.execute(stmt)
        con.execute("commit")
    finally:
        con.close()


def _switch(settings: Settings, final: Path) -> None:
    """Point `<home>/marts` at `final` with one rename; make `<home>/serving.duckdb` a
    symlink through it (once). A plain `marts/` folder of an older home is moved aside."""
    pointer = settings.parquet_dir
    if pointer.is_dir() and not pointer.is_symlink():
        if any(pointer.iterdir()):  # Parquet of a home published before versions existed
            pointer.rename(versions_root(settings) / f"legacy-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        else:
            pointer.rmdir()
    tmp = settings.home / f".marts.switch{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(Path(VERSIONS_DIR) / final.name, tmp)
    os.replace(tmp, pointer)
    serving = serving_path(settings)
    if not serving.is_symlink():
        stmp = settings.home / f".serving.switch{os.getpid()}"
        stmp.unlink(missing_ok=True)
        os.symlink(Path(pointer.name) / SERVING_FILE, stmp)
        os.replace(stmp, serving)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _remove_partials(root: Path, current: Path | None) -> None:
    """Partial versions (no MANIFEST) are left only by a killed publish (runs are
    serialised); so are legacy folders of nothing."""
    for p in root.iterdir():
        if p.is_dir() and p != current and not p.name.startswith("legacy-") \
                and not (p / MANIFEST).exists():
            shutil.rmtree(p, ignore_errors=True)


def _keep_newest(root: Path, current: Path) -> None:
    done = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                   and (p / MANIFEST).exists()), key=lambda p: p.name, reverse=True)
    for old in done[KEEP_VERSIONS:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def _order_by(con, name: str, schema: str = BUILD_SCHEMA) -> str:
    """` order by ...` for a mart listed in CLUSTER_BY (its columns that exist), else ''."""
    have = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? "
        "and table_name = ?", [schema, name]).fetchall()}
    cols = [c for c in CLUSTER_BY.get(name, ()) if c in have]
    return (" order by " + ", ".join(cols)) if cols else ""


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")
