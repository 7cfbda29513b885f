"""`qualitrace trace` and `qualitrace where-used`: read the published marts, answer fast.

Reads the Parquet copies `<home>/marts/<mart>.parquet` with an in-memory DuckDB, so it
answers while a run holds the warehouse; falls back to the warehouse's `marts` schema
(attached read-only) when the Parquet copies are absent. Unknown ids exit with code 2.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import duckdb

from orchestration.lib.settings import Settings, get_settings
from orchestration.lib.trace_render import render_forward, render_trace

EXIT_OK, EXIT_UNKNOWN, EXIT_NO_DATA = 0, 2, 3

# where-used KIND -> forward_trace.suspect_kind
WHERE_USED_KINDS = {"lot": "supplier_lot", "supplier": "supplier", "batch": "batch",
                    "equipment": "equipment"}
MARTS_READ = ("complaint_trace", "forward_trace", "batch_quality", "spc_violations")


class MartsUnavailable(RuntimeError):
    """Neither the Parquet copies nor a warehouse with published marts exist."""


class UnknownId(LookupError):
    """The id is not in the marts; carries close matches."""

    def __init__(self, message: str, suggestions: list[str]):
        super().__init__(message)
        self.suggestions = suggestions


def normalize_id(text: str) -> str:
    """NFKC, trimmed, upper case: how every code is stored in the marts."""
    return unicodedata.normalize("NFKC", text or "").strip().upper()


def parse_day(text: str | None, arg: str) -> dt.date | None:
    """`YYYY-MM-DD` (or any ISO date/timestamp prefix) -> date; ValueError names the option."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise ValueError(f"{arg}: expected a date YYYY-MM-DD, got {text!r}") from None


def open_marts(settings: Settings, names: tuple[str, ...] = MARTS_READ) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with one view per mart, over Parquet (preferred) or the warehouse."""
    con = duckdb.connect(":memory:")
    parquet = {n: settings.parquet_dir / f"{n}.parquet" for n in names}
    if all(p.exists() for p in parquet.values()):
        for n, p in parquet.items():
            con.execute(f"create view {n} as select * from read_parquet('{_sql_str(p)}')")
        return con
    if not settings.warehouse.exists():
        con.close()
        raise MartsUnavailable(
            f"no published marts under {settings.parquet_dir} and no warehouse at "
            f"{settings.warehouse}: run `qualitrace run --home {settings.home}` first"
        )
    try:
        con.execute(f"attach '{_sql_str(settings.warehouse)}' as wh (read_only)")
    except duckdb.Error as exc:
        con.close()
        raise MartsUnavailable(
            f"no Parquet marts under {settings.parquet_dir}, and the warehouse "
            f"{settings.warehouse} cannot be opened read-only now ({exc}); retry after the run"
        ) from None
    have = {r[0] for r in con.execute(
        "select table_name from wh.information_schema.tables where table_schema = 'marts'"
    ).fetchall()}
    missing = [n for n in names if n not in have]
    if missing:
        con.close()
        raise MartsUnavailable(
            f"{settings.warehouse}: marts not published yet ({', '.join(missing)} missing); "
            f"run `qualitrace run --home {settings.home}` first"
        )
    for n in names:
        con.execute(f"create view {n} as select * from wh.marts.{n}")
    return con


def _sql_str(path) -> str:
    return str(path).replace("'", "''")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _suggest(con, table: str, column: str, wanted: str, where: str = "", params=None) -> list[str]:
    rows = con.execute(
        f"select distinct {column} as v, jaro_winkler_similarity({column}, ?) as s "
        f"from {table} where {column} is not null {where} "
        f"order by s desc, v limit 3",
        [wanted, *(params or [])],
    ).fetchall()
    return [r[0] for r in rows if r[1] >= 0.6]


# --- backward trace -------------------------------------------------------------------

@dataclass
class ComplaintTrace:
    complaint: dict[str, Any]
    batch: dict[str, Any] | None
    same_batch: list[dict[str, Any]] = field(default_factory=list)
    matched_duplicate: str | None = None
    spc: list[dict[str, Any]] = field(default_factory=list)


def trace_complaint(con: duckdb.DuckDBPyConnection, complaint_id: str) -> ComplaintTrace:
    """The backward chain of one complaint (its first id or any duplicate id)."""
    wanted = normalize_id(complaint_id)
    rows = _rows(con, "select * from complaint_trace where complaint_id = ?", [wanted])
    matched_dup = None
    if not rows:
        rows = _rows(
            con,
            "select * from complaint_trace where duplicate_ids is not null and "
            "list_contains(string_split(upper(duplicate_ids), ','), ?)",
            [wanted],
        )
        matched_dup = wanted if rows else None
    if not rows:
        n = con.execute("select count(*) from complaint_trace").fetchone()[0]
        raise UnknownId(
            f"complaint {complaint_id!r} is not in marts.complaint_trace ({n} complaints known, "
            f"duplicate ids included)",
            _suggest(con, "complaint_trace", "complaint_id", wanted),
        )
    complaint = rows[0]
    batch, same = None, []
    if complaint.get("batch_code"):
        found = _rows(con, "select * from batch_quality where batch_code = ?",
                      [complaint["batch_code"]])
        batch = found[0] if found else None
        same = _rows(
            con,
            "select complaint_id, received_at, problem_type_code, severity, status, "
            "province_code from complaint_trace where batch_code = ? and complaint_id <> ? "
            "order by received_at, complaint_id",
            [complaint["batch_code"], complaint["complaint_id"]],
        )
        spc = _rows(
            con,
            "select equipment_id, parameter, rule, window_start, window_end from spc_violations "
            "where batch_codes is not null and list_contains(string_split(batch_codes, ','), ?) "
            "order by window_start, equipment_id, parameter, rule",
            [complaint["batch_code"]],
        )
    else:
        spc = []
    return ComplaintTrace(complaint, batch, same, matched_dup, spc)


# --- forward trace --------------------------------------------------------------------

@dataclass
class ForwardTrace:
    kind: str
    suspect_kind: str
    suspect_id: str
    date_from: dt.date | None
    date_to: dt.date | None
    window_on: str
    totals: dict[str, Any]
    batches: list[dict[str, Any]]
    shipments: list[dict[str, Any]]
    customers: list[dict[str, Any]]
    provinces: list[dict[str, Any]]
    scope: str = ""  # equipment: which batches of its line are traced


# the columns of marts.forward_trace that a where-used answer reads
_FORWARD_COLUMNS = ("suspect_id", "batch_code", "product_code", "line", "batch_start", "batch_end",
                    "units_produced", "excursion_count", "shipment_no", "shipped_at",
                    "customer_code", "province_code", "region", "carrier", "units_at_risk")


def where_used_kind(con: duckdb.DuckDBPyConnection, ident: str) -> str:
    """The where-used KIND of an id given without one: the kind of suspect it is in
    marts.forward_trace (a material lot also by the supplier's own lot number). UnknownId
    (with close ids of any kind) when it is none; ValueError naming the kinds when it is
    several (say which: `where-used KIND ID`)."""
    wanted = normalize_id(ident)
    kinds = [k for (k,) in con.execute(
        "select distinct suspect_kind from forward_trace where suspect_id = ? "
        "union select 'supplier_lot' from forward_trace "
        "where suspect_kind = 'supplier_lot' and supplier_lot = ? order by 1",
        [wanted, wanted]).fetchall()]
    names = {v: k for k, v in WHERE_USED_KINDS.items()}
    if not kinds:
        raise UnknownId(f"{ident!r} is no lot, supplier, batch or machine in marts.forward_trace",
                        _suggest(con, "forward_trace", "suspect_id", wanted))
    if len(kinds) > 1:
        raise ValueError(f"{ident!r} is a {' and a '.join(names[k] for k in kinds)}: say which, "
                         f"e.g. `where-used {names[kinds[0]]} {ident}`")
    return names[kinds[0]]


def where_used(con: duckdb.DuckDBPyConnection, kind: str, ident: str,
               date_from: dt.date | None = None, date_to: dt.date | None = None,
               all_batches: bool = False) -> ForwardTrace:
    """Forward trace of a lot, supplier, batch or machine, optionally within a date window.

    The window applies to shipped_at, except for equipment, where it selects the batches
    produced on the machine's line during the window (shipments of those batches at any time).
    A machine is traced to the batches that had a process excursion on it (its suspect
    exposure); `all_batches` traces every batch made on its line.
    """
    if kind not in WHERE_USED_KINDS:
        raise ValueError(f"kind must be one of {', '.join(WHERE_USED_KINDS)}, got {kind!r}")
    suspect_kind = WHERE_USED_KINDS[kind]
    wanted = normalize_id(ident)
    # Codes are stored normalised (upper case), so plain equality matches, and lets DuckDB
    # skip the row groups of other suspects (the mart is published sorted by suspect).
    # Only the columns the answer reads are decoded.
    cols = ", ".join(_FORWARD_COLUMNS)
    rel = f"(select {cols} from forward_trace where suspect_kind = ? and suspect_id = ?)"
    params: list[Any] = [suspect_kind, wanted]
    if suspect_kind == "supplier_lot":  # a material lot, or the supplier's own lot number
        rel = (f"(select {cols} from forward_trace where suspect_kind = ? and suspect_id = ? "
               f"union all select {cols} from forward_trace where suspect_kind = ? "
               "and supplier_lot = ? and suspect_id is distinct from ?)")
        params = [suspect_kind, wanted, suspect_kind, wanted, wanted]
    # the suspect's rows are read from the Parquet file once: checked, resolved and windowed
    con.execute(f"create or replace temp table suspect_rows as select * from {rel}", params)
    found, resolved = con.execute("select count(*), min(suspect_id) from suspect_rows").fetchone()
    if not found:
        raise UnknownId(
            f"{kind} {ident!r} is not in marts.forward_trace (suspect_kind {suspect_kind})",
            _suggest(con, "forward_trace", "suspect_id", wanted, "and suspect_kind = ?",
                     [suspect_kind]),
        )
    # `hits` is a view (no copy of the suspect's rows) and a view takes no parameters, so the
    # window's bounds are literals: midnights of the dates given, made here, not user text
    start = f"timestamp '{date_from:%Y-%m-%d} 00:00:00'" if date_from else None
    end = (f"timestamp '{date_to + dt.timedelta(days=1):%Y-%m-%d} 00:00:00'" if date_to
           else None)
    window = []
    if suspect_kind == "equipment":
        window_on = "batch production"
        if start:
            window.append(f"batch_end >= {start}")
        if end:
            window.append(f"batch_start < {end}")
    else:
        window_on = "shipped_at"
        if start:
            window.append(f"shipped_at >= {start}")
        if end:
            window.append(f"shipped_at < {end}")
    scope = ""
    if suspect_kind == "equipment":
        if all_batches:
            scope = "every batch made on its line"
        else:
            window.append("excursion_count > 0")
            scope = ("the batches with a process excursion on it (--all-batches: every batch "
                     "of its line)")
    where = " and ".join(window) or "true"
    con.execute(f"create or replace temp view hits as select * from suspect_rows where {where}")
    totals = _rows(con, """
        select count(distinct batch_code) as batches,
               count(distinct shipment_no) as shipments,
               count(distinct customer_code) as customers,
               count(distinct province_code) as provinces,
               coalesce(sum(units_at_risk), 0) as units_at_risk,
               min(shipped_at) as first_shipped, max(shipped_at) as last_shipped
        from hits""")[0]
    batches = _rows(con, """
        select batch_code, min(product_code) as product_code, min(line) as line,
               min(batch_start) as batch_start, max(units_produced) as units_produced,
               max(excursion_count) as excursion_count,
               count(distinct shipment_no) as shipments,
               coalesce(sum(units_at_risk), 0) as units_at_risk
        from hits group by batch_code order by batch_start, batch_code""")
    shipments = _rows(con, """
        select shipment_no, min(shipped_at) as shipped_at, min(customer_code) as customer_code,
               min(province_code) as province_code, min(carrier) as carrier,
               sum(units_at_risk) as units_at_risk,
               string_agg(distinct batch_code, ',' order by batch_code) as batch_codes
        from hits where shipment_no is not null
        group by shipment_no order by shipped_at, shipment_no""")
    customers = _rows(con, """
        select customer_code, count(distinct shipment_no) as shipments,
               sum(units_at_risk) as units_at_risk,
               string_agg(distinct province_code, ',' order by province_code) as provinces
        from hits where customer_code is not null
        group by customer_code order by units_at_risk desc, customer_code""")
    provinces = _rows(con, """
        select province_code, min(region) as region, count(distinct customer_code) as customers,
               sum(units_at_risk) as units_at_risk
        from hits where province_code is not null
        group by province_code order by units_at_risk desc, province_code""")
    return ForwardTrace(kind, suspect_kind, resolved, date_from, date_to, window_on, totals,
                        batches, shipments, customers, provinces, scope)


# --- entry point ----------------------------------------------------------------------

def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (dt.datetime, dt.date)):
        return obj.isoformat()
    if hasattr(obj, "__dataclass_fields__"):
        return {k: _jsonable(getattr(obj, k)) for k in obj.__dataclass_fields__}
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):  # numpy / decimal-like scalars
        try:
            return obj.item()
        except (AttributeError, ValueError):
            pass
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj if isinstance(obj, (str, int, float, bool, type(None))) else str(obj)


def main(args) -> int:
    """CLI: `trace COMPLAINT_ID` or `where-used [KIND] ID [--from D --to D]`; 0 ok, 2 unknown
    id (or an id of several kinds given without one)."""
    settings = get_settings(getattr(args, "home", None), getattr(args, "exports", None))
    as_json = bool(getattr(args, "json", False))
    out = sys.stdout
    try:
        con = open_marts(settings)
    except MartsUnavailable as exc:
        print(f"qualitrace {args.command}: {exc}", file=sys.stderr)
        return EXIT_NO_DATA
    try:
        if args.command == "trace":
            result = trace_complaint(con, args.complaint_id)
            text = render_trace(result)
        elif args.command == "where-used":
            d_from = parse_day(getattr(args, "date_from", None), "--from")
            d_to = parse_day(getattr(args, "date_to", None), "--to")
            # `where-used ID` (the kind found from the id) or `where-used KIND ID`
            kind, ident = (args.kind, args.id) if args.id is not None else (None, args.kind)
            if kind is None:
                kind = where_used_kind(con, ident)
            result = where_used(con, kind, ident, d_from, d_to,
                                all_batches=bool(getattr(args, "all_batches", False)))
            text = render_forward(result, limit=getattr(args, "limit", None))
        else:
            raise ValueError(f"unknown command {args.command!r}")
    except UnknownId as exc:
        msg = f"qualitrace {args.command}: {exc}"
        if exc.suggestions:
            msg += "\n  did you mean: " + ", ".join(exc.suggestions)
        print(msg, file=sys.stderr)
        return EXIT_UNKNOWN
    except ValueError as exc:
        print(f"qualitrace {args.command}: {exc}", file=sys.stderr)
        return EXIT_UNKNOWN
    finally:
        con.close()
    if as_json:
        json.dump(_jsonable(result), out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        out.write(text)
    return EXIT_OK
