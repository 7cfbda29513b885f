"""Readers: map a header onto the dictionary; read xlsx/jsonl rows as text; plan CSV reads.

Values stay text exactly as delivered; an empty value is NULL in every format. xlsx: every
sheet whose first rows name the entity's required fields, in workbook order (else the first
sheet; a workbook's cover or instructions sheet before the data is passed over, and said; a
later data sheet, such as one per month, is read after it, its rows numbered on from the
previous sheet's), first row
is the header (or the first of the first rows naming the required fields); date/time cells become ISO text
(`YYYY-MM-DD HH:MM:SS`), numbers their shortest text (`100`, `0.25`; an Excel date typed as a
plain number stays its serial, e.g. `45366.58`, conformed in dbt), booleans `TRUE`/`FALSE`,
and a cell holding a formula (text starting with `=`) is never evaluated: its row is
quarantined with `formula_cell`. jsonl: numbers keep their literal text, objects/arrays
their JSON. Whole-file problems raise `IngestError`; row problems become `QuarantineRow`s.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any

from orchestration.lib.dictionary.normalize import header_qualifier
from orchestration.lib.ingest import errors as E
from orchestration.lib.ingest.encoding import lines_of
from orchestration.lib.ingest.errors import IngestError
from orchestration.lib.ingest.spec import EntitySpec

MAX_HEADER_BYTES = 1 << 20
MAX_RAW_RECORD = 65536  # raw_record text kept in quarantine, in characters
DELIMITERS = {"csv": ",", "tsv": "\t"}


@dataclass(frozen=True)
class QuarantineRow:
    source_row: int | None
    reason_code: str
    detail: str
    raw_record: str | None


@dataclass
class ColumnMap:
    """Where each column of a file goes: dictionary fields by position, the rest to `_extra`."""

    headers: list[str]                       # as seen (cleaned of NULs)
    field_at: dict[str, int]                 # canonical field -> column index
    extras: list[tuple[int, str]]            # (column index, key in _extra)
    # unit field -> the unit a value's header names (`Reading (°F)`) when the file has no
    # unit column: every row's unit
    constants: dict[str, str] = field(default_factory=dict)
    # field -> the keys in `_extra` of later columns naming the same field (a report that
    # repeats a column, as joined ERP views do): the row lands where they agree
    repeats: dict[str, list[str]] = field(default_factory=dict)

    @property
    def unknown_headers(self) -> list[str]:
        repeated = {k for keys in self.repeats.values() for k in keys}
        return [k for _, k in self.extras if k not in repeated]


@dataclass
class TabularRead:
    """Rows read in Python (xlsx, jsonl): (row number, values by column index)."""

    columns: ColumnMap
    rows: list[tuple[int, list[str | None]]] = field(default_factory=list)
    quarantine: list[QuarantineRow] = field(default_factory=list)
    rows_read: int = 0
    # rows above the header (a report's title, export date, filters): (row number, text)
    preamble: list[tuple[int, str]] = field(default_factory=list)
    header_row_number: int = 1
    # xlsx / xls: the sheets read, in order, when the workbook has more than one (else
    # empty), and a note on them and on the others (passed over, or not read)
    sheets: list[str] = field(default_factory=list)
    sheet_note: str | None = None
    last_row_number: int = 0  # the last non-blank row of what was read (its numbering)


def clip(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_RAW_RECORD:
        return text
    return text[:MAX_RAW_RECORD] + f"... [{len(text) - MAX_RAW_RECORD} more characters]"


def map_header(headers: list[Any], spec: EntitySpec, rel_path: str,
               column_has_data: list[bool] | None = None) -> ColumnMap:
    """Map header cells to fields (NFKC/trim/case-fold aliases); unknown ones go to `_extra`.

    IngestError: no header, a blank header before a named one (merged cells), two headers
    for one personal or free-text field, or required fields missing (all named). A later
    column naming a field an earlier one names goes to `_extra` too (`repeats`).
    """
    seen = ["" if h is None else str(h).replace("\x00", "").strip() for h in headers]
    if not any(seen):
        raise IngestError(E.EMPTY_FILE, rel_path, "no header row")
    last_named = max(i for i, h in enumerate(seen) if h)
    field_at: dict[str, int] = {}
    extras: list[tuple[int, str]] = []
    used_keys: set[str] = set()
    unmatched: list[tuple[int, str]] = []
    repeated: dict[int, str] = {}  # column index -> the field an earlier column names
    for i, h in enumerate(seen):
        if not h:
            if i < last_named:
                raise IngestError(E.BLANK_HEADER, rel_path,
                                  f"header cell {i + 1} is blank (merged or missing header "
                                  f"cells?)", row=1)
            if column_has_data is not None and not column_has_data[i]:
                continue
            h = f"column_{i + 1}"
        f = spec.canonical(h)
        if f is not None:
            if f in field_at:
                if f in spec.pii or f in spec.free_text:  # stored transformed: not comparable
                    raise IngestError(E.DUPLICATE_COLUMN, rel_path,
                                      f"columns {field_at[f] + 1} ({seen[field_at[f]]!r}) and "
                                      f"{i + 1} ({h!r}) are both {f!r}", row=1, field=f)
                repeated[i] = f  # kept in _extra; rows where it disagrees are quarantined
            else:
                field_at[f] = i
                continue
        unmatched.append((i, h))
    # a header the dictionary knows but for a qualifier in brackets or `*` marks (`数量（件）`,
    # `Reading (°F)`, `*工单号`) names that field, unless another column names it exactly; a
    # unit in the qualifier is the unit of every row when the file has no unit column
    qualifiers: dict[str, str] = {}
    repeats: dict[str, list[str]] = {}
    for i, h in unmatched:
        base, qualifier = header_qualifier(h)
        f = spec.headers.get(base)
        if f is not None and f not in field_at and i not in repeated:
            field_at[f] = i
            if qualifier:
                qualifiers[f] = qualifier
            continue
        key, n = (f"{h}#2", 3) if i in repeated else (h, 2)
        while key in used_keys:
            key, n = f"{h}#{n}", n + 1
        used_keys.add(key)
        extras.append((i, key))
        if i in repeated:
            repeats.setdefault(repeated[i], []).append(key)
    constants = {spec.unit_fields[f]: q for f, q in qualifiers.items()
                 if f in spec.unit_fields and spec.unit_fields[f] not in field_at}
    missing = [f for f in spec.fields if f in spec.required and f not in field_at
               and f not in constants]
    if missing:
        raise IngestError(E.MISSING_REQUIRED_COLUMN, rel_path,
                          f"missing required column(s): {', '.join(missing)}; header seen: "
                          f"{', '.join(repr(h) for h in seen)[:500]}", row=1)
    return ColumnMap(seen, field_at, extras, constants, repeats)


# --------------------------------------------------------------------------- csv / tsv

@dataclass
class CsvHeader:
    cells: list[str]
    skip_lines: int = 0  # physical lines above the header (title rows, blank lines)
    preamble: list[tuple[int, str]] = field(default_factory=list)  # (line, text) above it
    header_row_number: int = 1


def header_text(source: Path, rel_path: str) -> str:
    """The head of a UTF-8 file (BOM stripped) that holds its header record."""
    with open(source, "rb") as fh:
        head = fh.read(MAX_HEADER_BYTES + 1)
    if not head.strip(b"\r\n\t \xef\xbb\xbf"):
        raise IngestError(E.EMPTY_FILE, rel_path, "no header row (blank file)")
    cut = head.find(b"\n")
    if cut < 0 and len(head) > MAX_HEADER_BYTES:
        raise IngestError(E.LINE_TOO_LONG, rel_path,
                          f"header line longer than {MAX_HEADER_BYTES} bytes", row=1)
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def parse_csv_header(text: str, delimiter: str, rel_path: str,
                     spec: EntitySpec | None = None) -> CsvHeader:
    """The header record of delimited text, parsed with the csv module: the first record, or,
    when a report puts a title above it (`客诉导出报表`, `导出时间: …`), the first of the first
    PREAMBLE_MAX non-blank records that names every required field of `spec`."""
    try:
        first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise IngestError(E.UNREADABLE_FILE, rel_path, f"header not parseable: {exc}",
                          row=1) from None
    if spec is None or not spec.required or names_required(first, spec):
        return CsvHeader(first)
    filled: list[tuple[int, list[str]]] = []  # (first line, record) of non-blank records
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        done = 0
        for record in reader:
            if any(c.strip() for c in record):
                filled.append((done + 1, record))
            done = reader.line_num
            if len(filled) >= PREAMBLE_MAX:
                break
    except csv.Error:
        pass  # a record cut at the end of the head: judged on those before it
    at = header_row([r for _, r in filled], spec)
    if not filled or (at == 0 and filled[0][0] == 1):
        return CsvHeader(first)
    line, cells = filled[at]  # past a title, or past blank lines above the header
    return CsvHeader(cells, skip_lines=line - 1, header_row_number=line, preamble=[
        (n, " ".join(c.strip() for c in r if c.strip())[:200]) for n, r in filled[:at]])


OTHER_DELIMITERS = (",", ";", "\t", "|")


def other_delimiter(text: str, expected: str, rel_path: str,
                    spec: EntitySpec) -> tuple[str, CsvHeader, ColumnMap] | None:
    """Delimited text whose header does not map with the delimiter its extension implies: the
    first other delimiter (`,` `;` tab `|`) under which it maps (every required field named),
    with that header and its columns; None when there is none."""
    for d in OTHER_DELIMITERS:
        if d == expected:
            continue
        try:
            found = parse_csv_header(text, d, rel_path, spec)
            return d, found, map_header(found.cells, spec, rel_path)
        except IngestError:
            continue
    return None


def names_required(cells: list[Any], spec: EntitySpec) -> bool:
    named = {spec.canonical(str(c).strip()) for c in cells if c not in (None, "")}
    return set(spec.required) <= named


# --------------------------------------------------------------------------- xlsx

PREAMBLE_MAX = 30  # rows a report may put above its header (title, export date, one per filter)


def header_row(rows: list[list[Any]], spec: EntitySpec) -> int:
    """Index of the header among a sheet's first non-blank rows: the first of the first
    PREAMBLE_MAX that names every required field (a report's title row above it is no
    header); 0 when none does, so the first row is judged the header and reported."""
    for i, cells in enumerate(rows[:PREAMBLE_MAX]):
        if spec.required and names_required(cells, spec):
            return i
    return 0


def cell_text(v: Any) -> str | None:
    """An openpyxl cell value as delivered text (see module docstring)."""
    if v is None:
        return None
    if isinstance(v, str):
        return v if v != "" else None
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


def is_formula(text: str | None) -> bool:
    return text is not None and len(text) > 1 and text[0] == "="


def _nonblank(rows: Iterable) -> Iterator[tuple[int, list[Any]]]:
    """(sheet row number, values) of a sheet's non-blank rows, header and preamble included."""
    for n, values in enumerate(rows, start=1):
        if values and any(cell_text(v) is not None for v in values):
            yield n, list(values)


def _names_header(rows: Iterable, spec: EntitySpec) -> bool:
    """Whether one of a sheet's first PREAMBLE_MAX non-blank rows names every required field."""
    return any(names_required(v, spec) for _, v in islice(_nonblank(rows), PREAMBLE_MAX))


def data_sheets(sheets: list[tuple[str, Callable[[], Iterable]]],
                spec: EntitySpec) -> tuple[list[int], str | None]:
    """Which sheets of a workbook to read (`sheets`: title and a function giving its rows), and
    a note on those passed over: every sheet whose first rows name every required field, in
    workbook order (one sheet per month of one export); a cover, instructions or summary
    sheet before the first is passed over. The first sheet when none does, or when the
    workbook has one sheet."""
    if len(sheets) == 1 or not spec.required:
        return [0], None
    named = [i for i, (_, rows) in enumerate(sheets) if _names_header(rows(), spec)]
    if not named:
        return [0], None
    at, titles = named[0], [t for t, _ in sheets]
    if at == 0:
        return named, None
    return named, (f"read sheet {titles[at]!r} ({at + 1} of {len(sheets)}); "
                   + ", ".join(repr(t) for t in titles[:at]) + " before it name(s) no "
                   + "/".join(f for f in spec.fields if f in spec.required))  # stable order


def merge_sheets(reads: list[TabularRead], titles: list[str], note: str | None,
                 workbook_sheets: int) -> TabularRead:
    """One read of a workbook's data sheets (`reads`, titled `titles`, in order): the first
    sheet's columns; a later sheet's rows realigned to them by field (its columns may be in
    another order; an unknown column joins the extras) and numbered on after the previous
    sheet's last row, so every row of the file has its own number. A later sheet whose
    columns map to other fields is not read, and said: deliver it as its own file."""
    out = reads[0]
    cols = out.columns
    notes = [note] if note else []
    out.sheets = [titles[0]] if workbook_sheets > 1 else []
    offset, last = 0, out.last_row_number
    skipped = []
    for r, title in zip(reads[1:], titles[1:]):
        if set(r.columns.field_at) != set(cols.field_at) or r.columns.constants != cols.constants:
            differ = sorted(set(r.columns.field_at) ^ set(cols.field_at)) or ["a unit in a header"]
            skipped.append(f"{title!r} (differs in {', '.join(differ)})")
            continue
        offset += last
        extra_at = {k: i for i, k in cols.extras}
        for i, k in r.columns.extras:
            if k not in extra_at:
                extra_at[k] = len(cols.headers)
                cols.extras.append((extra_at[k], k))
                cols.headers.append(r.columns.headers[i])
        source = {cols.field_at[f]: r.columns.field_at[f] for f in cols.field_at}
        source |= {extra_at[k]: i for i, k in r.columns.extras}
        out.rows += [(n + offset, [values[source[j]] if j in source else None
                                   for j in range(len(cols.headers))]) for n, values in r.rows]
        out.quarantine += [replace(q, source_row=q.source_row + offset)
                           if q.source_row is not None else q for q in r.quarantine]
        out.preamble += [(n + offset, text) for n, text in r.preamble]
        out.rows_read += r.rows_read
        out.sheets.append(title)
        first_row = min([n for n, _ in r.preamble] + [r.header_row_number])
        notes.append(f"sheet {title!r} read too: its rows {first_row}-{r.last_row_number} are "
                     f"rows {first_row + offset}-{r.last_row_number + offset} of this file")
        last = r.last_row_number
    width = len(cols.headers)
    out.rows = [(n, values + [None] * (width - len(values))) for n, values in out.rows]
    if skipped:
        notes.append(f"sheet(s) {', '.join(skipped)} also hold a header of this entity with "
                     "other fields and were NOT read: deliver each as its own file")
    out.sheet_note = "; ".join(notes) or None
    out.last_row_number = last + offset
    return out


def read_xlsx(path: Path, spec: EntitySpec, rel_path: str) -> TabularRead:
    """The data sheets of a workbook (`data_sheets`, `merge_sheets`), in read-only mode
    (formulas are not evaluated)."""
    import openpyxl  # local: import cost

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl/zipfile/xml raise many kinds
        raise IngestError(E.UNREADABLE_FILE, rel_path,
                          f"not a readable xlsx workbook: {type(exc).__name__}: {exc}"[:500]) \
            from None
    try:
        if not wb.worksheets:
            raise IngestError(E.UNREADABLE_FILE, rel_path, "the workbook has no sheets")
        sheets = [(ws.title, lambda ws=ws: ws.iter_rows(min_row=1, values_only=True))
                  for ws in wb.worksheets]
        chosen, sheet_note = data_sheets(sheets, spec)
        reads = []
        for at in chosen:
            title = sheets[at][0]
            try:
                filled = list(_nonblank(sheets[at][1]()))
            except IngestError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure inside a corrupt sheet
                raise IngestError(E.UNREADABLE_FILE, rel_path,
                                  f"sheet {title!r} not readable: {type(exc).__name__}: "
                                  f"{exc}"[:500]) from None
            reads.append(_sheet_read(filled, title, spec, _where(rel_path, title, reads),
                                     formulas=True))
    finally:
        wb.close()
    return merge_sheets(reads, [sheets[at][0] for at in chosen], sheet_note, len(sheets))


def _where(rel_path: str, title: str, earlier: list) -> str:
    """How a row's messages name its file: a later data sheet by its title too (its rows are
    numbered in the sheet there)."""
    return f"{rel_path} sheet {title!r}" if earlier else rel_path


def read_xls(path: Path, spec: EntitySpec, rel_path: str) -> TabularRead:
    """A legacy Excel 97-2003 workbook (.xls, what many ERP "export to Excel" buttons still
    write), read with python-calamine: its data sheets as for xlsx, each cell the value Excel
    saved (a formula's last result: .xls cells cannot be told apart as formulas here)."""
    from python_calamine import CalamineWorkbook  # local: import cost

    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = list(wb.sheet_names)
    except BaseException as exc:  # noqa: BLE001 - calamine's own errors, and a Rust panic
        _reraise_interrupt(exc)  # (pyo3 PanicException is no Exception) on a damaged file
        raise IngestError(E.UNREADABLE_FILE, rel_path,
                          f"not a readable xls workbook: {type(exc).__name__}: {exc}"[:500]) \
            from None
    if not names:
        raise IngestError(E.UNREADABLE_FILE, rel_path, "the workbook has no sheets")
    cache: dict[str, list] = {}

    def rows_of(name: str) -> list:
        if name not in cache:
            try:
                cache[name] = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            except BaseException as exc:  # noqa: BLE001 - any failure inside a corrupt sheet
                _reraise_interrupt(exc)
                raise IngestError(E.UNREADABLE_FILE, rel_path,
                                  f"sheet {name!r} not readable: {type(exc).__name__}: "
                                  f"{exc}"[:500]) from None
        return cache[name]

    sheets = [(n, lambda n=n: iter(rows_of(n))) for n in names]
    chosen, sheet_note = data_sheets(sheets, spec)
    reads: list[TabularRead] = []
    for at in chosen:
        reads.append(_sheet_read(list(_nonblank(rows_of(names[at]))), names[at], spec,
                                 _where(rel_path, names[at], reads), formulas=False))
    return merge_sheets(reads, [names[at] for at in chosen], sheet_note, len(names))


def _reraise_interrupt(exc: BaseException) -> None:
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        raise exc


def _sheet_read(filled: list[tuple[int, list[Any]]], title: str, spec: EntitySpec,
                rel_path: str, formulas: bool) -> TabularRead:
    """The rows of one sheet (non-blank rows with their sheet row numbers): the header found
    among the first rows, its columns mapped, every row after it read or quarantined."""
    if not filled:
        raise IngestError(E.EMPTY_FILE, rel_path, f"sheet {title!r} has no header row")
    at = header_row([v for _, v in filled], spec)
    header = filled[at][1]
    raw_rows = [(n, [cell_text(v) for v in values], values) for n, values in filled[at + 1:]]
    width = len(header)
    has_data = [any(i < len(r) and r[i] is not None for _, r, _ in raw_rows)
                for i in range(width)]
    cols = map_header(header, spec, rel_path, column_has_data=has_data)
    kept = set(cols.field_at.values()) | {i for i, _ in cols.extras}
    out = TabularRead(cols, header_row_number=filled[at][0], preamble=[
        (n, " ".join(t for t in map(cell_text, values) if t)[:200]) for n, values in filled[:at]],
        last_row_number=filled[-1][0])
    for n, texts, _ in raw_rows:
        out.rows_read += 1
        overflow = [t for t in texts[width:] if t is not None]
        formula = (next((i for i, t in enumerate(texts) if i in kept and is_formula(t)), None)
                   if formulas else None)
        if overflow:
            out.quarantine.append(QuarantineRow(
                n, E.WRONG_FIELD_COUNT,
                f"{rel_path} row {n}: values beyond the {width} header columns",
                clip(json.dumps(texts, ensure_ascii=False))))
        elif formula is not None:
            name = header[formula] if formula < width else f"column_{formula + 1}"
            out.quarantine.append(QuarantineRow(
                n, E.FORMULA_CELL,
                f"{rel_path} row {n}, field {str(name)!r}: spreadsheet formula "
                f"{texts[formula][:200]!r} (not evaluated)",
                clip(json.dumps(texts, ensure_ascii=False))))
        else:
            out.rows.append((n, texts[:width] + [None] * (width - len(texts))))
    return out


# --------------------------------------------------------------------------- jsonl

def json_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v if v != "" else None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _raw_number(token: str) -> str:
    return token


class _RepeatedKey(ValueError):
    def __init__(self, key: str):
        super().__init__(f"key {key!r} appears twice")
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _RepeatedKey(k)
        out[k] = v
    return out


def read_jsonl(path: Path, encoding: str, spec: EntitySpec, rel_path: str) -> TabularRead:
    """One JSON object per line; keys are headers (union over the file, first-seen order)."""
    enc = "utf-8" if encoding == "utf-8-sig" else encoding
    keys: dict[str, int] = {}
    parsed: list[tuple[int, dict[str, Any]]] = []
    bad: list[QuarantineRow] = []
    read = 0
    with open(path, "rb") as fh:
        for n, raw in enumerate(lines_of(fh, path), start=1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            read += 1
            try:
                line = raw.decode(enc)
            except UnicodeDecodeError as exc:
                bad.append(QuarantineRow(n, E.INVALID_ENCODING,
                                         f"{rel_path} line {n}: not {enc}: {exc.reason}",
                                         clip(raw.decode(enc, errors="replace"))))
                continue
            try:
                obj = json.loads(line, parse_float=_raw_number, parse_int=_raw_number,
                                 parse_constant=_raw_number, object_pairs_hook=_pairs)
            except _RepeatedKey as exc:  # {"complaint_id": "A", "complaint_id": "B"}
                bad.append(QuarantineRow(n, E.DUPLICATE_KEY,
                                         f"{rel_path} line {n}: key {exc.key!r} appears twice "
                                         f"(which value is meant is unknown)",
                                         clip(line.rstrip("\r\n"))))
                continue
            except (ValueError, RecursionError) as exc:
                bad.append(QuarantineRow(n, E.BROKEN_JSON,
                                         f"{rel_path} line {n}: {exc}"[:500], clip(line.rstrip("\r\n"))))
                continue
            if not isinstance(obj, dict):
                bad.append(QuarantineRow(n, E.BROKEN_JSON,
                                         f"{rel_path} line {n}: a JSON {type(obj).__name__}, "
                                         f"not an object", clip(line.rstrip("\r\n"))))
                continue
            # keys are mapped line by line: one line's Chinese header and another's English
            # one are the same field; two keys of one line naming one field are a bad line
            by_field: dict[str, Any] = {}
            clash = None
            for k, v in obj.items():
                name = spec.canonical(k) or f"\x00{k}"
                if name in by_field:
                    clash = (name, k)
                    break
                by_field[name] = v
            if clash:
                bad.append(QuarantineRow(n, E.DUPLICATE_KEY,
                                         f"{rel_path} line {n}: keys name field {clash[0]!r} "
                                         f"twice (e.g. {clash[1]!r})", clip(line.rstrip("\r\n"))))
                continue
            for k in by_field:
                keys.setdefault(k, len(keys))
            parsed.append((n, by_field))
    if not keys:  # blank (an empty delivery) or only broken lines: nothing to map
        cols = ColumnMap([], {}, [])
        return TabularRead(cols, [], bad, read)
    headers = [k.removeprefix("\x00") for k in keys]
    cols = map_header(headers, spec, rel_path)
    out = TabularRead(cols, quarantine=bad, rows_read=read)
    for n, obj in parsed:
        vals: list[str | None] = [None] * len(headers)
        for k, v in obj.items():
            vals[keys[k]] = json_text(v)
        out.rows.append((n, vals))
    return out
