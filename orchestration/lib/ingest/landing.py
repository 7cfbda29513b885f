"""Land delivered files into `raw.<system>__<entity>`, one transaction per file version.

Incremental by file: a file whose path, size and mtime (or path and sha256) are already in
`raw._file_manifest` is skipped; the same content under another name is a
`duplicate_delivery` (no rows); new content under a known path is a new version: the old
version's rows (raw and quarantine) are deleted and its manifest row marked `superseded`.
Hashing, transcoding and xlsx/jsonl parsing happen outside the warehouse lock; the lock is
held only for the write. Big CSV/TSV files are parsed by DuckDB's `read_csv`, never in Python.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import re
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from orchestration.lib.ingest import errors as E
from orchestration.lib.ingest.discover import DeliveredFile, discover, files_of
from orchestration.lib.ingest.encoding import (
    Fingerprint,
    check_not_empty,
    clean_copy,
    ends_lines_with_cr,
    fingerprint,
    transcode,
    with_line_feeds,
)
from orchestration.lib.ingest.errors import IngestError
from orchestration.lib.ingest.ledger import count_records, ends_in_quotes
from orchestration.lib.ingest.readers import (
    DELIMITERS,
    MAX_RAW_RECORD,
    ColumnMap,
    QuarantineRow,
    TabularRead,
    clip,
    header_text,
    map_header,
    other_delimiter,
    parse_csv_header,
    read_jsonl,
    read_xls,
    read_xlsx,
)
from orchestration.lib.ingest.spec import (
    SUMMARY_TRIM,
    EntitySpec,
    entity_specs,
    find_spec,
    summary_label,
)
from orchestration.lib.pii import pii_salt
from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import connect

LINEAGE = (("_extra", "VARCHAR"), ("_source_file", "VARCHAR"), ("_source_row", "BIGINT"),
           ("_file_sha256", "VARCHAR"), ("_loaded_at", "TIMESTAMP"))
MANIFEST_COLUMNS = (
    ("path", "VARCHAR"), ("sha256", "VARCHAR"), ("size_bytes", "BIGINT"), ("system", "VARCHAR"),
    ("entity", "VARCHAR"), ("rows_read", "BIGINT"), ("rows_landed", "BIGINT"),
    ("rows_quarantined", "BIGINT"), ("status", "VARCHAR"), ("duplicate_of", "VARCHAR"),
    ("first_seen", "TIMESTAMP"), ("detail", "VARCHAR"),
    # additions beyond ARCHITECTURE.md
    ("reason_code", "VARCHAR"), ("mtime", "DOUBLE"), ("encoding", "VARCHAR"),
    ("format", "VARCHAR"), ("unknown_headers", "VARCHAR"), ("ctime", "DOUBLE"),
    ("records_counted", "BIGINT"), ("missing_since", "TIMESTAMP"),
    # dictionary fields the file has no column for (comma-separated; NULL: every field): a
    # later version of a key from such a file keeps the earlier version's value of those
    # fields instead of erasing it (macros/staging/latest_version.sql)
    ("fields_absent", "VARCHAR"),
)
QUARANTINE_COLUMNS = (
    ("system", "VARCHAR"), ("entity", "VARCHAR"), ("source_file", "VARCHAR"),
    ("source_row", "BIGINT"), ("reason_code", "VARCHAR"), ("detail", "VARCHAR"),
    ("raw_record", "VARCHAR"), ("file_sha256", "VARCHAR"), ("quarantined_at", "TIMESTAMP"),
)
HEADER_GAP_COLUMNS = (
    ("system", "VARCHAR"), ("entity", "VARCHAR"), ("header_seen", "VARCHAR"),
    ("source_file", "VARCHAR"), ("first_seen", "TIMESTAMP"), ("file_sha256", "VARCHAR"),
)
LIVE = ("loaded", "quarantined")
MAX_LINE_SIZE = 4 << 20  # longer CSV records are quarantined as line_too_long
DUCKDB_REASONS = {
    "MISSING COLUMNS": E.WRONG_FIELD_COUNT, "TOO MANY COLUMNS": E.WRONG_FIELD_COUNT,
    "INVALID ENCODING": E.INVALID_ENCODING, "INVALID UNICODE": E.INVALID_ENCODING,
    "LINE SIZE OVER MAXIMUM": E.LINE_TOO_LONG, "UNQUOTED VALUE": E.MALFORMED_ROW,
}


@dataclass
class FileResult:
    path: str
    sha256: str | None
    status: str                # loaded, duplicate_delivery, quarantined, skipped
    rows_read: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    detail: str | None = None
    superseded: list[str] = field(default_factory=list)
    records_counted: int | None = None  # the independent count (ledger.py); None: not counted


@dataclass
class IngestSummary:
    system: str
    entity: str
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    table_rows: int = 0        # rows in raw.<system>__<entity> after this run

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_landed(self) -> int:
        return sum(f.rows_landed for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def new_files(self) -> int:
        return sum(1 for f in self.files if f.status != "skipped")


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    return "'" + text.replace("\x00", "").replace("'", "''") + "'"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _ddl(table: str, columns) -> str:
    return f"CREATE TABLE IF NOT EXISTS {table} (" + ", ".join(
        f"{_q(n)} {t}" for n, t in columns) + ")"


def _columns_by_table(con) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for t, c in con.execute("SELECT table_name, column_name FROM information_schema.columns "
                            "WHERE table_schema = 'raw'").fetchall():
        out.setdefault(t, set()).add(c)
    return out


def ensure_governance_tables(con: duckdb.DuckDBPyConnection,
                             have: dict[str, set[str]] | None = None) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    have = _columns_by_table(con) if have is None else have
    for table, cols in (("_file_manifest", MANIFEST_COLUMNS), ("_quarantine", QUARANTINE_COLUMNS),
                        ("_header_gaps", HEADER_GAP_COLUMNS)):
        _ensure_table(con, table, cols, have)


def _ensure_table(con, name: str, cols, have: dict[str, set[str]]) -> None:
    """CREATE TABLE raw.<name> if absent, else ADD COLUMN for columns new to the spec."""
    if name not in have:
        con.execute(_ddl(f"raw.{_q(name)}", cols))
        return
    for n, t in cols:
        if n not in have[name]:
            con.execute(f"ALTER TABLE raw.{_q(name)} ADD COLUMN {_q(n)} {t}")


def ensure_raw_table(con: duckdb.DuckDBPyConnection, spec: EntitySpec,
                     have: dict[str, set[str]] | None = None) -> None:
    cols = [(f, "VARCHAR") for f in spec.fields] + list(LINEAGE)
    _ensure_table(con, spec.table, cols, _columns_by_table(con) if have is None else have)


def ensure_raw_tables(settings: Settings, dictionary: Any) -> None:
    """Every `raw.<system>__<entity>` table (all dictionary fields) and the ingest bookkeeping
    tables, so dbt sources exist before any file arrives. Adds columns new to the dictionary."""
    with connect(settings) as con:
        ensure_governance_tables(con)
        have = _columns_by_table(con)
        for spec in entity_specs(dictionary):
            ensure_raw_table(con, spec, have)


# --------------------------------------------------------------------------- preparation

@dataclass
class CsvPlan:
    source: Path               # UTF-8 file DuckDB reads (the original or a transcoded copy)
    delimiter: str
    columns: ColumnMap
    temp: bool
    dropped: list[QuarantineRow] = field(default_factory=list)  # lines with bad bytes
    skip_lines: int = 0        # a report's title lines above the header
    preamble: list[tuple[int, str]] = field(default_factory=list)
    header_row_number: int = 1
    workdir: Path = Path(".")  # where copies of the file go (ingest's temporary folder)


def prepare(df: DeliveredFile, fp: Fingerprint, spec: EntitySpec,
            workdir: Path) -> CsvPlan | TabularRead:
    """Decode and map one file outside the lock; IngestError quarantines it whole."""
    rel = df.rel_path
    if fp.size == 0:
        check_not_empty(fp, rel)
    if df.fmt == "xlsx":
        return read_xlsx(df.path, spec, rel)
    if df.fmt == "xls":
        return read_xls(df.path, spec, rel)
    check_not_empty(fp, rel)
    if df.fmt == "jsonl":
        return read_jsonl(df.path, fp.encoding or "utf-8", spec, rel)
    delim = DELIMITERS[df.fmt or "csv"]
    source, temp, dropped = df.path, False, []
    # lines ending with CR alone (Excel for Mac): read from a copy ending them with LF, as
    # every later step reads lines (UTF-16 is sniffed once transcoded)
    delivered = df.path
    if fp.encoding != "utf-16" and ends_lines_with_cr(df.path):
        workdir.mkdir(parents=True, exist_ok=True)
        delivered = source = workdir / f"{fp.sha256}.lf.csv"
        temp = True
        with_line_feeds(df.path, source)
    if fp.binary or fp.encoding not in ("utf-8", "utf-8-sig"):
        workdir.mkdir(parents=True, exist_ok=True)
        source, temp = workdir / f"{fp.sha256}.utf8.csv", True
        if fp.encoding == "utf-16":
            transcode(delivered, source, fp.encoding, rel)
            if ends_lines_with_cr(source):
                with_line_feeds(source, source.with_suffix(".lf.csv"))
                source.with_suffix(".lf.csv").replace(source)
        else:  # GB18030, or NUL bytes: a bad line is quarantined, the rest goes on
            dropped = [QuarantineRow(b.line, E.ENCODING_ERROR,
                                     f"{rel} line {b.line}: {b.problem}; the row is left out",
                                     clip(b.text))
                       for b in clean_copy(delivered, source, fp.encoding or "gb18030", rel)]
        if delivered != df.path:
            delivered.unlink(missing_ok=True)
    header: list[str] = []
    try:
        head = header_text(source, rel)
        found = parse_csv_header(head, delim, rel, spec)
        header = found.cells
        try:
            cols = map_header(header, spec, rel)
        except IngestError as exc:
            # a `;`- or `|`-separated .csv, a comma-separated .txt: read with the delimiter
            # under which the header names every required field, and said in the manifest
            other = (other_delimiter(head, delim, rel, spec)
                     if exc.reason_code == E.MISSING_REQUIRED_COLUMN else None)
            if other is None:
                raise
            delim, found, cols = other
    except IngestError as exc:
        if temp:
            source.unlink(missing_ok=True)
        if exc.reason_code == E.MISSING_REQUIRED_COLUMN and len(header) == 1 and any(
                d in header[0] for d in ",\t;|" if d != delim):
            exc.detail += (f" (a single column: expected {delim!r} as the delimiter of a "
                           f"{df.path.suffix} file)")
            exc.args = (f"{rel}: {exc.reason_code}: {exc.detail}",)
        raise
    return CsvPlan(source, delim, cols, temp, dropped, skip_lines=found.skip_lines, workdir=workdir,
                   preamble=_delivered_lines(found.preamble, dropped),
                   header_row_number=_delivered_lines([(found.header_row_number, "")],
                                                      dropped)[0][0])


def _delivered_lines(lines: list[tuple[int, str]], dropped: list[QuarantineRow]) -> list[tuple[int, str]]:
    """Line numbers of the read copy -> the delivered file's (lines left out of a clean copy
    for bad bytes come before them)."""
    left_out = {q.source_row for q in dropped}
    return [(_past(n, left_out), text) for n, text in lines]


def _past(line: int, lines: set[int]) -> int:
    """`line` counted without `lines`, as a line of the file with them."""
    for n in sorted(lines):
        if n <= line:
            line += 1
    return line


# --------------------------------------------------------------------------- writing

def _select_list(spec: EntitySpec, cols: ColumnMap, col) -> tuple[list[str], str]:
    values = {f: col(cols.field_at[f]) if f in cols.field_at
              else sql_literal(cols.constants[f]) if f in cols.constants
              else "CAST(NULL AS VARCHAR)" for f in spec.fields}
    if cols.extras:
        args = ", ".join(f"{sql_literal(k)}, {col(i)}" for i, k in cols.extras)
        extra = f"qt_mask_text(CAST(json_object({args}) AS VARCHAR))"
    else:
        extra = "CAST(NULL AS VARCHAR)"
    return [f"{e} AS {_q(f)}" for f, e in _stored_forms(spec, values).items()], extra


def _stored_forms(spec: EntitySpec, values: dict[str, str]) -> dict[str, str]:
    """SQL for what is stored of each field: personal fields pseudonymised (pii.pseudonymise,
    through the qt_* functions of pii_functions), free text masked; the clear values
    never reach a table."""
    pii = sorted(spec.pii)
    names = "[" + ", ".join(sql_literal(f) for f in pii) + "]"
    clear = "list_value(" + ", ".join(f"CAST({values[f]} AS VARCHAR)" for f in pii) + ")"
    out = {}
    for f, e in values.items():
        if f in spec.pii:
            out[f] = f"qt_pseudonym({names}, {clear}, {sql_literal(f)})"
        elif f in spec.free_text:
            out[f] = f"qt_mask_text({e})"
        else:
            out[f] = e
    return out


@contextlib.contextmanager
def pii_functions(con, salt: str) -> Iterator[None]:
    """qt_pseudonym(fields, values, field) and qt_mask_text(text) on this connection, for the
    block. A Python function is registered in the database's catalog, which the other
    connections of this process share while a run keeps the warehouse open
    (warehouse.kept_open): it is removed again at the end of the block, so it never outlives
    the connection that owns it (calling it after that crashes DuckDB)."""
    from duckdb.sqltypes import VARCHAR

    from orchestration.lib.pii import mask_text, pseudonymise

    def pseudonym(fields, values, field):
        return pseudonymise(dict(zip(fields, values, strict=True)), salt)[field]

    con.create_function("qt_pseudonym", pseudonym,
                        [duckdb.list_type(VARCHAR), duckdb.list_type(VARCHAR), VARCHAR], VARCHAR,
                        null_handling="special")
    try:
        con.create_function("qt_mask_text", mask_text, [VARCHAR], VARCHAR)
        try:
            yield
        finally:
            with contextlib.suppress(duckdb.Error):  # a result left unread blocks the removal
                con.complete()
            con.remove_function("qt_mask_text")
    finally:
        con.remove_function("qt_pseudonym")


MAX_SWALLOWING_QUOTES = 20  # lines left out for a stray quote before the file is read as is


def _write_csv(con, spec: EntitySpec, df: DeliveredFile, fp: Fingerprint, plan: CsvPlan,
               loaded_at: dt.datetime, counting: Future | None = None
               ) -> tuple[int, list[QuarantineRow], int | None]:
    """Land one delimited file: (rows landed, rows quarantined, the independent record count
    of what was read when a stray quote made the reader read a copy, else None).

    A quote that opens a field and is not closed on its line (`"55 inch TV broken` in an
    export that quotes nothing) makes a CSV reader take every line up to the next quote in
    the file as one malformed record: the records on those lines would be lost with it, and
    when the quotes happen to balance, an independent count agrees with the loss. Such a
    line is left out (quarantined as `malformed_row`, saying why) and the file is read
    again without it, so the lines after it land as their own records."""
    landed, rejects = _read_csv(con, spec, df, fp, plan, loaded_at)
    recounted = None  # the independent count of the copy read, when one is read
    for _ in range(MAX_SWALLOWING_QUOTES):
        swallowing = [pos for _line, pos, etype, csv_line, _m in rejects
                      if str(etype) == "UNQUOTED VALUE" and pos is not None
                      and "\n" in (csv_line or "").rstrip("\r\n")]
        if not swallowing:
            break
        con.execute(f"DELETE FROM raw.{_q(spec.table)} WHERE _source_file = ? AND "
                    f"_file_sha256 = ?", [df.rel_path, fp.sha256])
        _leave_out_lines(plan, df, fp, [int(p) for p in swallowing])
        landed, rejects = _read_csv(con, spec, df, fp, plan, loaded_at)
        recounted = count_records(plan.source, df.fmt)
    # the file's lines, from an independent count (ledger.py) that read these very lines
    count = recounted if recounted is not None else (
        counting.result() if counting is not None and not plan.dropped else None)
    known = getattr(count, "physical_lines", None)
    continued, blank = _lines_without_a_record(plan, landed + len({r[0] for r in rejects}),
                                               known)
    if continued:  # the reader numbers a record over several lines as one line
        rejects = [(_past(int(line), continued), *rest) if line is not None else (line, *rest)
                   for line, *rest in rejects]
    landed, out = _quarantined_lines(con, spec, df, fp, plan, landed, rejects,
                                     continued | blank)
    short = _short_rows(spec, plan, rejects)
    if short:  # landed after all, at their delivered lines (the other rows are past them)
        left_out = {q.source_row for q in plan.dropped}
        lines = [(_past(line, left_out), values) for line, values in short.items()]
        landed += _write_tabular(con, spec, df, fp, TabularRead(plan.columns, lines), loaded_at)
        padded = {n for n, _ in lines}
        out = [q for q in out if q.source_row not in padded]
    return landed, out, None if recounted is None else recounted + len(plan.dropped)


def _short_rows(spec: EntitySpec, plan: CsvPlan, rejects: list[tuple]
                ) -> dict[int, list[str | None]]:
    """Rejected records that only lack trailing cells of optional fields or unknown columns
    (an export that leaves out empty cells at the end of a row): their values, padded with
    NULL, by line of the copy read. A record lacking a required field's cell stays
    quarantined."""
    cols = plan.columns
    ncol = len(cols.headers)
    required_at = [i for f, i in cols.field_at.items() if f in spec.required]
    out: dict[int, list[str | None]] = {}
    other = {line for line, _p, etype, _c, _m in rejects if str(etype) != "MISSING COLUMNS"}
    for line, _pos, etype, csv_line, _message in rejects:
        text = (csv_line or "").rstrip("\r\n")
        if str(etype) != "MISSING COLUMNS" or line is None or line in other or "\n" in text \
                or "\r" in text:
            continue  # (a record over several lines is left to the quarantine)
        try:
            cells = next(csv.reader([text], delimiter=plan.delimiter, quotechar='"',
                                    doublequote=True, strict=True), [])
        except csv.Error:
            continue
        if not cells or len(cells) >= ncol or any(i >= len(cells) for i in required_at):
            continue
        out[int(line)] = [c if c != "" else None for c in cells] + [None] * (ncol - len(cells))
    return out


def _leave_out_lines(plan: CsvPlan, df: DeliveredFile, fp: Fingerprint,
                     starts: list[int]) -> None:
    """A copy of the file the plan reads without the physical lines starting at byte
    `starts` (each kept as a quarantined row): the plan reads the copy from now on."""
    data = plan.source.read_bytes()
    # DuckDB's reported start of a line may be one byte past it (as _raw_line says)
    starts = sorted({data.rfind(b"\n", 0, a) + 1 for a in starts})
    spans = [(a, (data.find(b"\n", a) + 1) or len(data)) for a in starts]
    plan.workdir.mkdir(parents=True, exist_ok=True)
    copy = plan.workdir / f"{fp.sha256}.{len(plan.dropped)}.quotes.csv"
    new: list[QuarantineRow] = []
    left_out = {q.source_row for q in plan.dropped}
    with open(copy, "wb") as out:
        at = 0
        for a, b in spans:
            out.write(data[at:a])
            at = b
            line = data.count(b"\n", 0, a) + 1  # of the copy read so far
            delivered = _past(line, left_out)
            text = data[a:b].rstrip(b"\r\n").decode("utf-8", errors="replace")
            new.append(QuarantineRow(
                delivered, E.MALFORMED_ROW,
                f"{df.rel_path} line {delivered}: a quote opens a field and is not closed on "
                f"this line; read as written it takes the lines after it into one malformed "
                f"record, so the line is left out and the lines after it are read as their "
                f"own records", clip(text)))
        out.write(data[at:])
    if plan.temp:
        plan.source.unlink(missing_ok=True)
    plan.source, plan.temp = copy, True
    plan.dropped = sorted(plan.dropped + new, key=lambda q: q.source_row)


def _read_csv(con, spec: EntitySpec, df: DeliveredFile, fp: Fingerprint, plan: CsvPlan,
              loaded_at: dt.datetime) -> tuple[int, list[tuple]]:
    """One read of the plan's file into the raw table: (rows landed, DuckDB's rejects)."""
    ncol = len(plan.columns.headers)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(ncol)) + "}"
    sel, extra = _select_list(spec, plan.columns, lambda i: f"c{i}")
    rej = f"_rej_{fp.sha256[:16]}"
    target = f"raw.{_q(spec.table)}"
    sql = (
        f"INSERT INTO {target} ({', '.join(_q(f) for f in spec.fields)}, _extra, _source_file, "
        f"_source_row, _file_sha256, _loaded_at) "
        f"SELECT {', '.join(sel)}, {extra}, ?, row_number() OVER () + {1 + plan.skip_lines}, ?, ? "
        f"FROM read_csv({sql_literal(str(plan.source))}, header = true, auto_detect = false, "
        f"skip = {plan.skip_lines}, "
        f"delim = {sql_literal(plan.delimiter)}, quote = '\"', escape = '\"', "
        f"columns = {columns}, store_rejects = true, rejects_table = '{rej}', "
        f"rejects_scan = '{rej}_scan', max_line_size = {MAX_LINE_SIZE}, "
        f"null_padding = false)"
    )
    landed = con.execute(sql, [df.rel_path, fp.sha256, loaded_at]).fetchone()[0]
    rejects = con.execute(
        f"SELECT line, line_byte_position, error_type, csv_line, error_message FROM {rej} "
        f"ORDER BY line").fetchall()
    con.execute(f"DROP TABLE IF EXISTS {rej}")
    con.execute(f"DROP TABLE IF EXISTS {rej}_scan")
    return int(landed), rejects


def _quarantined_lines(con, spec: EntitySpec, df: DeliveredFile, fp: Fingerprint,
                       plan: CsvPlan, landed: int, rejects: list[tuple],
                       apart: set[int] = frozenset()) -> tuple[int, list[QuarantineRow]]:
    """The rejects of the last read (at the lines of the file read) as quarantined rows,
    with every line number (of the landed rows too) the delivered file's; `apart`: the lines
    of the file read on which no record starts."""
    target = f"raw.{_q(spec.table)}"
    out: list[QuarantineRow] = []
    seen: set[int] = set()
    for line, pos, etype, csv_line, message in rejects:
        if line in seen:
            continue
        seen.add(line)
        reason = DUCKDB_REASONS.get(str(etype), E.MALFORMED_ROW)
        raw = _raw_line(plan.source, int(pos)) if pos is not None else csv_line
        out.append(QuarantineRow(int(line), reason,
                                 f"{df.rel_path} line {line}: {message}"[:1000], clip(raw)))
    # provisional row numbers count records; shift them past the lines that start none: the
    # quarantined records, and blank lines and the further lines of multi-line records
    if seen or apart:
        _shift_rows(con, target, df, fp, sorted(seen | apart))
    if plan.dropped:  # lines left out of the clean copy: back to the delivered file's lines
        left_out = sorted(q.source_row for q in plan.dropped)
        _shift_rows(con, target, df, fp, left_out)
        thresholds = [ln - i for i, ln in enumerate(left_out)]
        out = [QuarantineRow(q.source_row + sum(t <= q.source_row for t in thresholds),
                             q.reason_code, q.detail, q.raw_record) for q in out]
        out = sorted(out + plan.dropped, key=lambda q: q.source_row)
    return int(landed), out


def _lines_without_a_record(plan: CsvPlan, records: int, lines: int | None = None
                            ) -> tuple[set[int], set[int]]:
    """Lines of the file read, below its header, on which no record starts: (the second and
    further lines of records whose quoted value holds line breaks, a customer's description
    over several lines; empty lines, which the reader passes over). Read only when the file
    has more lines below the header than `records` (a count of line feeds first)."""
    first = plan.skip_lines + 2  # the first line below the header
    if lines is None:
        lines, tail = 0, b""
        with open(plan.source, "rb") as fh:
            while chunk := fh.read(1 << 24):
                lines += chunk.count(b"\n")
                tail = chunk
        if tail and not tail.endswith(b"\n"):
            lines += 1
    if lines - (first - 1) <= records:
        return set(), set()
    continued: set[int] = set()
    blank: set[int] = set()
    in_quote = False
    delimiter = plan.delimiter.encode()
    with open(plan.source, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if n < first:
                continue
            text = raw.rstrip(b"\r\n")
            if in_quote:
                continued.add(n)
            elif not text:
                blank.add(n)
            if text.count(b'"') % 2:  # as the independent count (ledger.py) reads them
                in_quote = ends_in_quotes(text, in_quote, delimiter)
    return continued, blank


def _shift_rows(con, target: str, df: DeliveredFile, fp: Fingerprint, lines: list[int]) -> None:
    """Renumber the landed rows of this file past the (sorted) physical `lines` that did not
    land, so `_source_row` stays the delivered file's line."""
    con.execute("CREATE OR REPLACE TEMP TABLE _ingest_thr (t BIGINT)")
    con.executemany("INSERT INTO _ingest_thr VALUES (?)",
                    [[ln - 1 - i] for i, ln in enumerate(lines)])
    con.execute(
        f"UPDATE {target} SET _source_row = _source_row + (SELECT count(*) FROM _ingest_thr "
        f"WHERE t <= {target}._source_row - 1) WHERE _source_file = ? AND _file_sha256 = ?",
        [df.rel_path, fp.sha256])
    con.execute("DROP TABLE _ingest_thr")


def _raw_line(path: Path, pos: int) -> str:
    """The physical line around byte `pos` (DuckDB's reported line start, which may be one
    past it), decoded; GB18030 is tried for bytes that are not UTF-8."""
    with open(path, "rb") as fh:
        back = min(pos, 4096)
        fh.seek(pos - back)
        before = fh.read(back)
        start = pos - back + before.rfind(b"\n") + 1 if b"\n" in before else pos - back
        fh.seek(start)
        data = fh.readline(MAX_RAW_RECORD * 4)
    data = data.rstrip(b"\r\n")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _write_tabular(con, spec: EntitySpec, df: DeliveredFile, fp: Fingerprint,
                   read: TabularRead, loaded_at: dt.datetime) -> int:
    if not read.rows:
        return 0
    cols = read.columns
    data: dict[str, list] = {}
    for f in spec.fields:
        i = cols.field_at.get(f)
        data[f] = ([vals[i] for _, vals in read.rows] if i is not None
                   else [cols.constants.get(f)] * len(read.rows))
    data["_extra"] = ([json.dumps({k: vals[i] for i, k in cols.extras}, ensure_ascii=False)
                       for _, vals in read.rows] if cols.extras else [None] * len(read.rows))
    data["_source_file"] = [df.rel_path] * len(read.rows)
    data["_source_row"] = [n for n, _ in read.rows]
    data["_file_sha256"] = [fp.sha256] * len(read.rows)
    data["_loaded_at"] = [loaded_at] * len(read.rows)
    schema = pa.schema([(f, pa.string()) for f in spec.fields] + [
        ("_extra", pa.string()), ("_source_file", pa.string()), ("_source_row", pa.int64()),
        ("_file_sha256", pa.string()), ("_loaded_at", pa.timestamp("us"))])
    tbl = pa.Table.from_pydict(data, schema=schema)  # noqa: F841 - scanned by DuckDB below
    stored = _stored_forms(spec, {f: _q(f) for f in spec.fields})
    sel = ", ".join([f"{e} AS {_q(f)}" for f, e in stored.items()]
                    + ["qt_mask_text(_extra) AS _extra", "_source_file", "_source_row",
                       "_file_sha256", "_loaded_at"])
    con.execute(f"INSERT INTO raw.{_q(spec.table)} BY NAME SELECT {sel} FROM tbl")
    return len(read.rows)


def _take_out(con, spec: EntitySpec, df: DeliveredFile, fp: Fingerprint, columns: str,
              condition: str) -> list[tuple]:
    """The rows of this file version just landed where `condition` holds, as
    (_source_row, *columns) in line order, deleted from the raw table."""
    table = f"raw.{_q(spec.table)}"
    where = f"_source_file = ? AND _file_sha256 = ? AND ({condition})"
    found = con.execute(f"SELECT _source_row, {columns} FROM {table} WHERE {where} "
                        f"ORDER BY _source_row", [df.rel_path, fp.sha256]).fetchall()
    if found:
        con.execute(f"DELETE FROM {table} WHERE {where}", [df.rel_path, fp.sha256])
    return found


def _set_aside_summary_rows(con, spec: EntitySpec, df: DeliveredFile,
                            fp: Fingerprint) -> list[QuarantineRow]:
    """A report's totals or subtotal rows among the rows of this file just landed (a cell
    holding a `summary_row_labels` label while a required field is blank): taken out of the
    raw table and returned as `summary_row` quarantine rows (their text as stored: masked)."""
    if not spec.summary_labels or not spec.required:
        return []
    labels = ", ".join(sql_literal(v) for v in sorted(spec.summary_labels))
    labelled = " OR ".join(
        f"lower(regexp_replace({_q(f)}, {sql_literal(SUMMARY_TRIM)}, '', 'g')) IN ({labels})"
        for f in spec.fields)
    blank = " OR ".join(f"coalesce(trim({_q(f)}), '') = ''"
                        for f in spec.fields if f in spec.required)
    found = _take_out(con, spec, df, fp, ", ".join(_q(f) for f in spec.fields),
                      f"({blank}) AND ({labelled})")
    out = []
    for n, *values in found:
        record = {f: v for f, v in zip(spec.fields, values) if v is not None}
        label = summary_label(record, spec) or ""
        missing = [f for f in spec.fields if f in spec.required and not (record.get(f) or "").strip()]
        out.append(QuarantineRow(
            n, E.SUMMARY_ROW,
            f"{df.rel_path} row {n}: a totals row ({label.strip()!r}; {', '.join(missing)} "
            f"blank), not a record", clip(json.dumps(record, ensure_ascii=False))))
    return out


def _set_aside_disagreeing_repeats(con, spec: EntitySpec, df: DeliveredFile,
                                   fp: Fingerprint, cols) -> list[QuarantineRow]:
    """A file that names one field in two columns (a report repeating a column, as joined
    ERP views do) lands the first as the field and the later ones in `_extra`: the rows just
    landed where they disagree (blank against a value counts) are taken out of the raw table
    and returned as `duplicate_header` quarantine rows naming both columns and values."""
    if not cols.repeats:
        return []
    pairs = [(f, key) for f, keys in sorted(cols.repeats.items()) for key in keys]

    def later(key: str) -> str:
        return f"json_extract_string(_extra, {sql_literal(json_path(key))})"

    differs = " OR ".join(f"coalesce(trim({_q(f)}), '') <> coalesce(trim({later(k)}), '')"
                          for f, k in pairs)
    found = _take_out(con, spec, df, fp, ", ".join(f"{_q(f)}, {later(k)}" for f, k in pairs),
                      differs)
    out = []
    for n, *vals in found:
        conflicts = [(f, k, a, b) for (f, k), a, b in zip(pairs, vals[0::2], vals[1::2],
                                                          strict=True)
                     if (a or "").strip() != (b or "").strip()]
        said = "; ".join(f"field {f!r} is {a!r} in its first column and {b!r} in column "
                         f"{k!r}" for f, k, a, b in conflicts)
        out.append(QuarantineRow(
            n, E.DUPLICATE_HEADER,
            f"{df.rel_path} row {n}: two columns name one field and disagree: {said}",
            clip(json.dumps({f"{f} | {k}": [a, b] for f, k, a, b in conflicts},
                            ensure_ascii=False))))
    return out


def json_path(key: str) -> str:
    """A JSON path to the top-level `key` (any characters: Chinese headers, `#`, quotes)."""
    return "$." + json.dumps(key, ensure_ascii=False)


_JSON_PAIR = re.compile(r'"([^"\\]{1,200})"\s*:\s*"((?:[^"\\]|\\.)*)"')


def mask_record(raw: str | None, spec: EntitySpec, cols, fmt: str | None,
                delimiter: str | None = None) -> str | None:
    """A quarantined record with its personal fields masked (pii.mask_value), by position
    (csv/tsv line, xlsx cells as a JSON list) or by key (jsonl); a record that cannot be
    parsed is kept as is (phones, ID numbers and e-mails are masked in every record later)."""
    from orchestration.lib.pii import mask_value

    if not raw or not spec.pii:
        return raw
    at = {i: f for f, i in cols.field_at.items() if f in spec.pii}
    try:
        if fmt == "jsonl":
            try:
                obj = json.loads(raw)
            except ValueError:  # a broken line: mask the "key": "value" pairs it still has
                return _JSON_PAIR.sub(
                    lambda m: m.group(0) if spec.canonical(m.group(1)) not in spec.pii else
                    m.group(0)[:m.start(2) - m.start(0)]
                    + (mask_value(spec.canonical(m.group(1)), m.group(2)) or "")
                    + m.group(0)[m.end(2) - m.start(0):], raw)
            if not isinstance(obj, dict):
                return raw
            for k, v in obj.items():
                f = spec.canonical(str(k))
                if f in spec.pii:
                    obj[k] = mask_value(f, None if v is None else str(v))
            return json.dumps(obj, ensure_ascii=False)
        if raw.startswith("["):  # xlsx: the row's cells as a JSON list
            cells = json.loads(raw)
            for i, f in at.items():
                if i < len(cells):
                    cells[i] = mask_value(f, cells[i])
            return json.dumps(cells, ensure_ascii=False)
        delim = delimiter or ("\t" if fmt == "tsv" else ",")
        cells = next(csv.reader(io.StringIO(raw), delimiter=delim), [])
        for i, f in at.items():
            if i < len(cells):
                cells[i] = mask_value(f, cells[i])
        buf = io.StringIO()
        csv.writer(buf, delimiter=delim, lineterminator="").writerow(cells)
        return buf.getvalue()
    except (ValueError, csv.Error):
        return raw


def _write_quarantine(con, spec_system: str, spec_entity: str | None, rel: str,
                      sha: str | None, rows: list[QuarantineRow], at: dt.datetime) -> None:
    if not rows:
        return
    from orchestration.lib.pii import mask_text

    qtbl = pa.table({  # noqa: F841
        "system": [spec_system] * len(rows), "entity": [spec_entity] * len(rows),
        "source_file": [rel] * len(rows), "source_row": pa.array([r.source_row for r in rows],
                                                                 pa.int64()),
        # personal data never stored in clear: personal fields were masked by the caller
        # (mask_record); phones, ID numbers and e-mails anywhere else in the text here
        "reason_code": [r.reason_code for r in rows],
        "detail": [mask_text(r.detail) for r in rows],
        "raw_record": pa.array([mask_text(r.raw_record) for r in rows], pa.string()),
        "file_sha256": pa.array([sha] * len(rows), pa.string()),
        "quarantined_at": pa.array([at] * len(rows), pa.timestamp("us")),
    })
    con.execute("INSERT INTO raw._quarantine BY NAME SELECT * FROM qtbl")


def _write_manifest(con, spec: EntitySpec, df: DeliveredFile, fp: Fingerprint,
                    res: FileResult, at: dt.datetime, duplicate_of: str | None = None,
                    reason_code: str | None = None, unknown: list[str] | None = None,
                    absent: list[str] | None = None) -> None:
    con.execute(
        "INSERT INTO raw._file_manifest (path, sha256, size_bytes, system, entity, rows_read, "
        "rows_landed, rows_quarantined, status, duplicate_of, first_seen, detail, reason_code, "
        "mtime, encoding, format, unknown_headers, ctime, records_counted, fields_absent) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [df.rel_path, fp.sha256, fp.size, spec.system, spec.name, res.rows_read,
         res.rows_landed, res.rows_quarantined, res.status, duplicate_of, at, res.detail,
         reason_code, df.mtime, fp.encoding, df.fmt,
         json.dumps(unknown, ensure_ascii=False) if unknown else None, df.ctime,
         res.records_counted, ",".join(absent) if absent else None])


def _supersede(con, spec: EntitySpec, rel: str, new_sha: str) -> list[str]:
    old = [r[0] for r in con.execute(
        "SELECT sha256 FROM raw._file_manifest WHERE path = ? AND sha256 <> ? AND status IN "
        "('loaded', 'quarantined', 'duplicate_delivery')", [rel, new_sha]).fetchall()]
    for sha in old:
        con.execute(f"DELETE FROM raw.{_q(spec.table)} WHERE _source_file = ? AND "
                    f"_file_sha256 = ?", [rel, sha])
        con.execute("DELETE FROM raw._quarantine WHERE source_file = ? AND file_sha256 = ?",
                    [rel, sha])
        con.execute("UPDATE raw._file_manifest SET status = 'superseded', detail = ? "
                    "WHERE path = ? AND sha256 = ?",
                    [f"superseded by version {new_sha[:12]}", rel, sha])
    return old


# --------------------------------------------------------------------------- one entity

PREPARED_BYTES = 256 << 20  # write prepared files once this much is waiting


@dataclass
class _Pending:
    df: DeliveredFile
    fp: Fingerprint
    plan: CsvPlan | TabularRead | None = None
    error: IngestError | None = None
    duplicate_of: str | None = None

    def cleanup(self) -> None:
        if isinstance(self.plan, CsvPlan) and self.plan.temp:
            self.plan.source.unlink(missing_ok=True)


def ingest_entity(settings: Settings, dictionary: Any, system: str, entity: str,
                  files: list[DeliveredFile] | None = None) -> IngestSummary:
    """Land every new file version of one entity; see the module docstring.

    Files are hashed and parsed outside the warehouse lock, then written in batches through
    one connection, one transaction per file.
    """
    t0 = time.monotonic()
    spec = find_spec(dictionary, system, entity)
    discovered = files is None
    if files is None:
        all_files = discover(settings.exports, dictionary)
        files = files_of(all_files, spec)
        # paths of this system that are no delivery, and those of no system at all (each
        # recorded once, whichever entity's ingest sees it first)
        unknown = [f for f in all_files if f.entity is None and f.system in (system, "")
                   and (f.reason or f.system)]
    else:
        unknown = []
    summary = IngestSummary(system, entity)
    with connect(settings) as con:
        have = _columns_by_table(con)
        ensure_governance_tables(con, have)
        ensure_raw_table(con, spec, have)
        known = con.execute(
            "SELECT path, sha256, size_bytes, mtime, ctime, status FROM raw._file_manifest "
            "WHERE system = ? AND entity = ?", [system, entity]).fetchall()
        live = dict(con.execute(
            "SELECT sha256, min_by(path, first_seen) FROM raw._file_manifest "
            "WHERE status IN ('loaded', 'quarantined') GROUP BY sha256").fetchall())
        if unknown:
            _record_unknown(con, unknown)
        if discovered:
            _mark_missing(con, system, entity, {f.rel_path for f in files})
        summary.table_rows = _table_rows(con, spec)
    # size + mtime + ctime unchanged: the content is (hashing skipped); anything else is
    # hashed, and the content hash decides whether it changed
    fast = {(p, s, m, c) for p, _, s, m, c, st in known if st != "superseded" and c}
    versions = {(p, sha) for p, sha, *_ in known}
    workdir = settings.home / "tmp" / "ingest"
    pending: list[_Pending] = []
    touched: list[tuple[DeliveredFile, Fingerprint]] = []
    waiting = 0
    fingerprints = _fingerprints_ahead(
        [df for df in files if (df.rel_path, df.size, df.mtime, df.ctime) not in fast])
    try:
        for df in files:
            if (df.rel_path, df.size, df.mtime, df.ctime) in fast:
                summary.files.append(FileResult(df.rel_path, None, "skipped"))
                continue
            fp = next(fingerprints)
            if (df.rel_path, fp.sha256) in versions:
                touched.append((df, fp))
                summary.files.append(FileResult(df.rel_path, fp.sha256, "skipped"))
                continue
            versions.add((df.rel_path, fp.sha256))
            item = _Pending(df, fp)
            first = live.setdefault(fp.sha256, df.rel_path)
            if first != df.rel_path:
                item.duplicate_of = first
            else:
                try:
                    item.plan = prepare(df, fp, spec, workdir)
                except IngestError as exc:
                    item.error = exc
                if isinstance(item.plan, TabularRead) or (
                        isinstance(item.plan, CsvPlan) and item.plan.temp):
                    waiting += fp.size  # rows held in memory, or a transcoded copy on disk
            pending.append(item)
            if waiting > PREPARED_BYTES or (isinstance(item.plan, CsvPlan)
                                            and fp.size > PREPARED_BYTES):
                summary.files += _flush(settings, spec, pending, touched, summary)
                pending, touched, waiting = [], [], 0
        if pending or touched:
            summary.files += _flush(settings, spec, pending, touched, summary)
            pending = []
    finally:
        for item in pending:
            item.cleanup()
    summary.seconds = time.monotonic() - t0
    return summary


FINGERPRINTS_AHEAD = 2  # files hashed ahead of the one being prepared


def _fingerprints_ahead(files: Iterable[DeliveredFile]) -> Iterator[Fingerprint]:
    """`fingerprint` of each file, in order, computed up to FINGERPRINTS_AHEAD files ahead on
    the worker threads (hashing releases the GIL) while the caller prepares the previous
    ones. An error reading a file is raised when its fingerprint is taken, as before."""
    todo = iter(files)
    ahead: deque[Future] = deque()

    def submit() -> None:
        for df in todo:
            ahead.append(_background().submit(fingerprint, df.path,
                                              df.fmt not in ("xlsx", "xls")))
            return

    for _ in range(FINGERPRINTS_AHEAD + 1):
        submit()
    while ahead:
        fp = ahead.popleft().result()
        submit()
        yield fp


def _mark_missing(con, system: str, entity: str, on_disk: set[str]) -> None:
    """A delivered file no longer under the exports root is reported, never silent:
    raw._file_manifest.missing_since is set when it is first found gone (its landed rows stay:
    a deletion is no retraction) and cleared when it comes back."""
    rows = con.execute("SELECT DISTINCT path, missing_since IS NOT NULL FROM raw._file_manifest "
                       "WHERE system = ? AND entity = ? AND status <> 'superseded'",
                       [system, entity]).fetchall()
    gone = [p for p, marked in rows if p not in on_disk and not marked]
    back = [p for p, marked in rows if p in on_disk and marked]
    now = _utcnow()
    for p in gone:
        con.execute("UPDATE raw._file_manifest SET missing_since = ? WHERE path = ? AND "
                    "system = ? AND entity = ?", [now, p, system, entity])
    for p in back:
        con.execute("UPDATE raw._file_manifest SET missing_since = NULL WHERE path = ? AND "
                    "system = ? AND entity = ?", [p, system, entity])


def _table_rows(con, spec: EntitySpec) -> int:
    return int(con.execute(f"SELECT count(*) FROM raw.{_q(spec.table)}").fetchone()[0])


def _flush(settings: Settings, spec: EntitySpec, pending: list[_Pending],
           touched: list[tuple[DeliveredFile, Fingerprint]],
           summary: IngestSummary) -> list[FileResult]:
    out = []
    with connect(settings) as con, pii_functions(con, pii_salt(settings)):
        for df, fp in touched:  # same content, new mtime: remember it for fast skips
            con.execute("UPDATE raw._file_manifest SET mtime = ?, ctime = ? WHERE path = ? "
                        "AND sha256 = ?", [df.mtime, df.ctime, df.rel_path, fp.sha256])
        for item in pending:
            try:
                out.append(_commit(con, spec, item))
            finally:
                item.cleanup()
        summary.table_rows = _table_rows(con, spec)
    return out


def _record_unknown(con, unknown: list[DeliveredFile]) -> None:
    for df in unknown:
        reason = df.reason or E.UNKNOWN_FILE
        hit = con.execute("SELECT 1 FROM raw._quarantine WHERE source_file = ? AND "
                          "reason_code = ?", [df.rel_path, reason]).fetchone()
        if not hit:
            _write_quarantine(con, df.system or None, None, df.rel_path, None, [QuarantineRow(
                None, reason, f"{df.rel_path}: {df.problem}", None)], _utcnow())


def ingest_file(settings: Settings, spec: EntitySpec, df: DeliveredFile,
                workdir: Path | None = None) -> FileResult:
    """Land one file version on its own (fingerprint, prepare, write)."""
    fp = fingerprint(df.path, text=df.fmt not in ("xlsx", "xls"))
    item = _Pending(df, fp)
    try:
        item.plan = prepare(df, fp, spec, workdir or settings.home / "tmp" / "ingest")
    except IngestError as exc:
        item.error = exc
    with connect(settings) as con, pii_functions(con, pii_salt(settings)):
        ensure_governance_tables(con)
        ensure_raw_table(con, spec)
        try:
            return _commit(con, spec, item)
        finally:
            item.cleanup()


def _commit(con, spec: EntitySpec, item: _Pending) -> FileResult:
    """One file version, in one transaction: landed + manifested, or nothing."""
    df, fp, rel = item.df, item.fp, item.df.rel_path
    at = _utcnow()
    con.execute("BEGIN TRANSACTION")
    try:
        if con.execute("SELECT 1 FROM raw._file_manifest WHERE path = ? AND sha256 = ?",
                       [rel, fp.sha256]).fetchone():  # landed meanwhile by another run
            con.execute("ROLLBACK")
            return FileResult(rel, fp.sha256, "skipped")
        dup = item.duplicate_of or (con.execute(
            "SELECT min_by(path, first_seen) FROM raw._file_manifest WHERE sha256 = ? AND "
            "path <> ? AND status IN ('loaded', 'quarantined')", [fp.sha256, rel]).fetchone()
            or [None])[0]
        old = _supersede(con, spec, rel, fp.sha256)
        error = item.error
        if dup is not None:
            res = FileResult(rel, fp.sha256, "duplicate_delivery",
                             detail=f"same content as {dup}")
            _write_manifest(con, spec, df, fp, res, at, duplicate_of=dup)
        elif error is None:
            try:
                res = _land(con, spec, df, fp, item.plan, at)
            except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
                # the parser gave up on this file; anything else (I/O, disk) propagates
                con.execute("ROLLBACK")
                con.execute("BEGIN TRANSACTION")
                old = _supersede(con, spec, rel, fp.sha256)
                error = IngestError(E.UNREADABLE_FILE, rel, f"not parseable: {exc}"[:1000])
        if dup is None and error is not None:
            res = FileResult(rel, fp.sha256, "quarantined", detail=error.detail)
            _write_quarantine(con, spec.system, spec.name, rel, fp.sha256, [
                QuarantineRow(None, error.reason_code, str(error), None)], at)
            _write_manifest(con, spec, df, fp, res, at, reason_code=error.reason_code)
        res.superseded = old
        con.execute("COMMIT")
        return res
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise


def _independent_count(df: DeliveredFile, fp: Fingerprint,
                       plan: CsvPlan | TabularRead) -> Future | None:
    """The file's independent record count (ledger.py), started on a worker thread: it reads
    the bytes in Python while DuckDB, which releases the GIL, parses and writes the same file
    on the other core (about 1 s of 7 at scale 1, counted before only after the write).
    Counted on the bytes the reader reads (a transcoded copy for UTF-16 csv; for every other
    file the delivered file itself); None where there is no independent count."""
    if fp.encoding == "utf-16" and not isinstance(plan, CsvPlan):
        return None
    source = plan.source if isinstance(plan, CsvPlan) and fp.encoding == "utf-16" else df.path
    sheets = plan.sheets if isinstance(plan, TabularRead) else None
    return _background().submit(count_records, Path(source), df.fmt, sheets)


_WORKERS: tuple[int, ThreadPoolExecutor] | None = None  # (pid that started them, pool)


def _background() -> ThreadPoolExecutor:
    """Two worker threads for ingest's byte work (fingerprints, counts), per process: a
    forked child (a test's concurrent ingest, Dagster's multiprocess executor) inherits the
    pool object but not its threads, and gets its own."""
    global _WORKERS
    if _WORKERS is None or _WORKERS[0] != os.getpid():
        _WORKERS = (os.getpid(),
                    ThreadPoolExecutor(max_workers=2, thread_name_prefix="qualitrace-ingest"))
    return _WORKERS[1]


def _land(con, spec: EntitySpec, df: DeliveredFile, fp: Fingerprint,
          plan: CsvPlan | TabularRead, at: dt.datetime) -> FileResult:
    counting = _independent_count(df, fp, plan)  # if the write fails, it is never read
    recounted = None
    if isinstance(plan, CsvPlan):
        landed, quarantine, recounted = _write_csv(con, spec, df, fp, plan, at, counting)
        cols = plan.columns
    else:
        landed = _write_tabular(con, spec, df, fp, plan, at)
        quarantine, cols = plan.quarantine, plan.columns
    quarantine = [QuarantineRow(q.source_row, q.reason_code, q.detail,
                                mask_record(q.raw_record, spec, cols, df.fmt,
                                            plan.delimiter if isinstance(plan, CsvPlan) else None))
                  for q in quarantine]
    summaries = _set_aside_summary_rows(con, spec, df, fp)  # stored forms: masked already
    summaries += _set_aside_disagreeing_repeats(con, spec, df, fp, cols)
    landed -= len(summaries)
    quarantine = sorted(quarantine + summaries, key=lambda q: (q.source_row is None,
                                                                 q.source_row or 0))
    _write_quarantine(con, spec.system, spec.name, df.rel_path, fp.sha256, quarantine, at)
    unknown = cols.unknown_headers
    for h in unknown:
        con.execute("INSERT INTO raw._header_gaps (system, entity, header_seen, source_file, "
                    "first_seen, file_sha256) VALUES (?, ?, ?, ?, ?, ?)",
                    [spec.system, spec.name, h, df.rel_path, at, fp.sha256])
    res = FileResult(df.rel_path, fp.sha256, "loaded", rows_read=landed + len(quarantine),
                     rows_landed=landed, rows_quarantined=len(quarantine))
    # the independent count (ledger.py), started before the write; a disagreement is
    # reported here and blocks in rows_reconcile
    preamble = plan.preamble
    res.records_counted = counting.result() if counting is not None else None
    if recounted is not None:
        # read from a copy without lines that held a stray quote: the independent count of
        # that copy, plus the lines left out (each a quarantined row)
        res.records_counted = recounted
    if res.records_counted is not None and preamble:  # rows above the header are no records
        res.records_counted -= len(preamble)
    if res.records_counted is not None and res.records_counted != res.rows_read:
        _write_quarantine(con, spec.system, spec.name, df.rel_path, fp.sha256, [QuarantineRow(
            None, E.LEDGER_MISMATCH,
            f"{df.rel_path}: an independent count finds {res.records_counted} records, the "
            f"reader read {res.rows_read} (an unclosed quote or a malformed line may have "
            f"swallowed records); the file's rows are kept, and the run is blocked until "
            f"the file is re-delivered or explained", None)], at)
    if res.rows_read == 0:
        res.detail = "no data rows (header only or blank)"
    elif quarantine:
        res.detail = f"{len(quarantine)} row(s) quarantined"
    notes = [res.detail] if res.detail else []
    for f, keys in sorted(cols.repeats.items()):  # one field named by two columns
        notes.append(f"{f} also in column(s) {', '.join(repr(k) for k in keys)} (kept in "
                     f"_extra; rows where they disagree quarantined as duplicate_header)")
    if cols.constants:  # a unit named in a value's header, for a file without a unit column
        notes.append("; ".join(f"{f} {v!r} from the header"
                               for f, v in sorted(cols.constants.items())))
    if isinstance(plan, CsvPlan) and plan.delimiter != DELIMITERS[df.fmt or "csv"]:
        notes.append(f"delimited by {plan.delimiter!r}, not {DELIMITERS[df.fmt or 'csv']!r} as "
                     f"a {df.path.suffix} file should be (the header names the required fields "
                     "so)")
    if isinstance(plan, TabularRead) and plan.sheet_note:  # which sheets were read, and why
        notes.append(plan.sheet_note)
    if preamble:  # a report's title above its header: read past, and said
        above = "; ".join(f"row {n}: {text!r}" for n, text in preamble[:3])
        notes.append(f"header on row {plan.header_row_number}, not row 1; {len(preamble)} "
                     f"row(s) above it are no data ({above})")
    res.detail = "; ".join(notes) or None
    _write_manifest(con, spec, df, fp, res, at, unknown=unknown,
                    absent=[f for f in spec.fields
                            if f not in cols.field_at and f not in cols.constants])
    return res
