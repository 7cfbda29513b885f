"""Row reconciliation: every row read ends up landed or quarantined, and nothing is lost
or doubled on the way into staging.

`reconcile(files)` is pure: it takes per-file counts and returns the mismatches.
`collect_file_counts(con)` reads those counts from the warehouse (raw ledger, raw
landing tables, staging).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FileCounts:
    """What the ingest ledger says about one file version, and what the tables hold."""

    path: str
    sha256: str
    system: str
    entity: str
    status: str
    rows_read: int
    rows_landed: int
    rows_quarantined: int
    raw_rows: int | None = None       # rows of this file version in raw.<system>__<entity>
    staged_rows: int | None = None    # ... in staging.stg_<system>__<entity>
    rejected_rows: int | None = None  # ... in staging.base_* with a _reject_reason
    records_counted: int | None = None  # the independent count of the file (ingest/ledger.py)


def reconcile(files: list[FileCounts]) -> list[str]:
    """One message per broken invariant, naming the file; empty when all reconcile."""
    problems: list[str] = []
    for f in files:
        where = f"{f.path} ({f.system}.{f.entity}, {f.status})"
        if f.records_counted is not None and f.records_counted != f.rows_read:
            problems.append(
                f"{where}: an independent count finds {f.records_counted} records, the reader "
                f"read {f.rows_read} (an unclosed quote or malformed line swallowed records?)"
            )
        if f.rows_read != f.rows_landed + f.rows_quarantined:
            problems.append(
                f"{where}: rows_read {f.rows_read} != rows_landed {f.rows_landed} "
                f"+ rows_quarantined {f.rows_quarantined}"
            )
        if f.status != "loaded":
            continue
        if f.raw_rows is not None and f.raw_rows != f.rows_landed:
            problems.append(
                f"{where}: ledger says {f.rows_landed} rows landed, "
                f"raw.{f.system}__{f.entity} holds {f.raw_rows}"
            )
        if (f.staged_rows is not None and f.rejected_rows is not None
                and f.staged_rows + f.rejected_rows != f.rows_landed):
            problems.append(
                f"{where}: {f.rows_landed} rows landed but staging has "
                f"{f.staged_rows} valid + {f.rejected_rows} rejected"
            )
    return problems


def _tables(con) -> set[tuple[str, str]]:
    return {(s, t) for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables").fetchall()}


def _counts_by_file(con, relation: str, where: str = "") -> dict[tuple[str, str], int]:
    rows = con.execute(
        f"select _source_file, _file_sha256, count(*) from {relation} {where} group by 1, 2"
    ).fetchall()
    return {(p, s): n for p, s, n in rows}


def _view_sql(con) -> dict[tuple[str, str], str]:
    return {(s, n): sql or "" for s, n, sql in con.execute(
        "select schema_name, view_name, sql from duckdb_views() where not internal").fetchall()}


_FILTER_TAIL = (r"\bFROM\s+\"?staging\"?\.\"?{base}\"?(?:\s+(?:AS\s+)?\"?\w+\"?)?\s+"
                r"WHERE\s+\(?\s*(?:\"?\w+\"?\.)?\"?_reject_reason\"?\s+IS\s+NULL\s*\)?\s*;?\s*$")
_NOT_A_FILTER = re.compile(r"\b(JOIN|GROUP\s+BY|DISTINCT|UNION|EXCEPT|INTERSECT|LIMIT|QUALIFY|"
                           r"HAVING|UNNEST|OFFSET)\b", re.IGNORECASE)


def is_reject_filter(view_sql: str, base: str) -> bool:
    """True when the view is `select <columns of one row> from staging.<base> where
    _reject_reason is null` (what every stg_ entity model is): its rows per file are the
    base rows without a reject reason, so one pass over the base counts both."""
    text = " ".join(view_sql.split())
    if _NOT_A_FILTER.search(text) or len(re.findall(r"\bFROM\b", text, re.IGNORECASE)) != 1:
        return False
    return re.search(_FILTER_TAIL.format(base=re.escape(base)), text, re.IGNORECASE) is not None


def _split_counts(con, relation: str) -> tuple[dict, dict]:
    """(valid, rejected) rows per (file, sha) of a base_ relation, in one scan."""
    rows = con.execute(
        f"select _source_file, _file_sha256, count(*) filter (where _reject_reason is null), "
        f"count(*) filter (where _reject_reason is not null) from {relation} group by 1, 2"
    ).fetchall()
    return ({(p, s): v for p, s, v, _ in rows if v},
            {(p, s): r for p, s, _, r in rows if r})


def collect_file_counts(con) -> list[FileCounts]:
    """Per-file counts from `raw._file_manifest` and the raw/staging tables present.

    One grouped query per relation: raw rows per file, and staging's valid and rejected
    rows per file in one pass over `base_<entity>` when `stg_<entity>` is its plain
    `_reject_reason is null` filter (else stg and base are counted separately)."""
    tables = _tables(con)
    if ("raw", "_file_manifest") not in tables:
        raise LookupError("raw._file_manifest does not exist: run the ingest assets first")
    cols = {c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' "
        "and table_name = '_file_manifest'").fetchall()}
    counted = "records_counted" if "records_counted" in cols else "null"
    ledger = con.execute(
        "select path, sha256, system, entity, status, rows_read, rows_landed, rows_quarantined, "
        f"{counted} from raw._file_manifest order by path"
    ).fetchall()
    views = None
    cache: dict[tuple[str, str], tuple] = {}
    out = []
    for path, sha, system, entity, status, read, landed, quarantined, n_counted in ledger:
        name = f"{system}__{entity}"
        if name not in cache:
            raw = (_counts_by_file(con, f"raw.{name}")
                   if ("raw", name) in tables else None)
            has_stg = ("staging", f"stg_{name}") in tables
            has_base = ("staging", f"base_{name}") in tables
            if has_stg and has_base:
                views = _view_sql(con) if views is None else views
            if (has_stg and has_base
                    and is_reject_filter(views.get(("staging", f"stg_{name}"), ""),
                                         f"base_{name}")):
                stg, rej = _split_counts(con, f"staging.base_{name}")
            else:
                stg = (_counts_by_file(con, f"staging.stg_{name}") if has_stg else None)
                rej = (_counts_by_file(con, f"staging.base_{name}",
                                       "where _reject_reason is not null")
                       if has_base else None)
            cache[name] = (raw, stg, rej)
        raw, stg, rej = cache[name]
        key = (path, sha)
        out.append(FileCounts(
            path=path, sha256=sha, system=system, entity=entity, status=status,
            rows_read=int(read or 0), rows_landed=int(landed or 0),
            rows_quarantined=int(quarantined or 0),
            raw_rows=None if raw is None else raw.get(key, 0),
            staged_rows=None if stg is None else stg.get(key, 0),
            rejected_rows=None if rej is None else rej.get(key, 0),
            records_counted=None if n_counted is None or status != "loaded" else int(n_counted),
        ))
    return out
