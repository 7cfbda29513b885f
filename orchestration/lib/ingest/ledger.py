"""An independent count of the records in a delivered file, for the ledger.

It shares none of the parser's assumptions: it reads raw bytes line by line and follows only
the quotes (a quote opens a value at its start; one inside an unquoted value, `55" TV`, is a
character). A record of a csv/tsv file ends at a line break outside quotes; blank
lines are no records. When the file ends inside a quote (an unclosed quote), the quote
balance cannot be trusted and every non-blank physical line counts as one record: the count
the parser must then explain (a parser that swallows 14 lines into one rejected record has
read 1 record where this count says 15). When a stray quote happens to be closed by another
one further down, this count swallows the same lines as the parser: the reader catches that
case itself (landing._write_csv leaves the line out and reads the rest again). jsonl: one
record per non-blank line. A file whose lines end with CR alone (Excel for Mac) is read
line by line on its CRs. xlsx: the first sheet's XML is read straight from the zip (no
spreadsheet library): a record is a `<row>` with at least one non-empty value (shared,
inline or plain), the first such row being the header.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from orchestration.lib.ingest.encoding import lines_of

_BLANK = b" \t\r\xef\xbb\xbf"
# where a quote opens a value: after any delimiter a file may turn out to use (landing reads a
# `;`- or `|`-separated .csv under the delimiter its header names the fields with)
_SEPARATORS = b",;\t|"


def ends_in_quotes(line: bytes, in_quote: bool, separators: bytes) -> bool:
    """Whether a line ends inside a quoted value: a quote opens a value only at its start (the
    line's start or right after one of `separators`: `"55 inch`), one inside an unquoted
    value is a character (`55" TV`), and `""` inside a quoted value is a quote."""
    field_start, i = not in_quote, 0
    while i < len(line):
        c = line[i]
        if in_quote:
            if c == 0x22:
                if line[i + 1:i + 2] == b'"':
                    i += 1
                else:
                    in_quote = False
        elif c == 0x22 and field_start:
            in_quote = True
        field_start = not in_quote and c in separators
        i += 1
    return in_quote


class RecordCount(int):
    """A record count; `physical_lines`: the lines of the text file counted (every line break,
    and a last line without one), which landing compares with the records it read."""

    physical_lines: int | None = None


def count_text_records(path: Path, header: bool = True, quoted: bool = True) -> int:
    """Records in a delimited text file (header excluded) or a jsonl file (`quoted=False`,
    `header=False`). Bytes only: `"` and line feeds are single bytes in UTF-8 and GB18030
    alike (GB18030 trail bytes are never 0x0A or 0x22)."""
    records = lines = physical = 0
    in_quote = pending = False
    with open(path, "rb") as fh:
        for raw in lines_of(fh, path):
            physical += 1
            text = raw.rstrip(b"\r\n")
            if text.strip(_BLANK):
                lines += 1
                pending = True
            if quoted and text.count(b'"') % 2:  # (an even count leaves the state as it was,
                # but for a character quote beside a quoted value: rare, and read as before)
                in_quote = ends_in_quotes(text, in_quote, _SEPARATORS)
            if pending and not in_quote:
                records += 1
                pending = False
    if pending:
        records += 1
    counted = lines if (quoted and in_quote) else records
    count = RecordCount(max(counted - (1 if header else 0), 0))
    count.physical_lines = physical
    return count


def count_records(path: Path, fmt: str | None, sheets: list[str] | None = None) -> int | None:
    """The independent record count of one delivered file (of an xlsx workbook: of the
    `sheets` read, each less its header; default the first sheet), or None when not
    counted."""
    if fmt in ("csv", "tsv"):
        return count_text_records(path, header=True, quoted=True)
    if fmt == "jsonl":
        return count_text_records(path, header=False, quoted=False)
    if fmt == "xlsx":
        counts = [count_xlsx_records(path, s) for s in (sheets or [None])]
        return None if None in counts else sum(counts)
    return None  # .xls: its binary format has no reader here but the one ingest reads it with


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}


def count_xlsx_records(path: Path, sheet_name: str | None = None) -> int | None:
    """Data rows of the first sheet, or of the sheet named `sheet_name` (header excluded);
    None when the workbook cannot be read this way (the reader then reports the file)."""
    try:
        with zipfile.ZipFile(path) as z:
            book = ET.fromstring(z.read("xl/workbook.xml"))
            first = next(s for s in book.findall("m:sheets/m:sheet", _NS)
                         if sheet_name is None or s.get("name") == sheet_name)
            rid = first.get(f"{{{_NS['r']}}}id")
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = next(r.get("Target") for r in rels.findall("rel:Relationship", _NS)
                          if r.get("Id") == rid)
            sheet = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            shared = _shared_strings(z)
            rows = 0
            with z.open(sheet) as fh:
                for _, el in ET.iterparse(fh):
                    if el.tag == f"{{{_NS['m']}}}row":
                        rows += any(_cell_value(c, shared) for c in el.findall("m:c", _NS))
                        el.clear()
    except (KeyError, ValueError, StopIteration, AttributeError, OSError,
            zipfile.BadZipFile, ET.ParseError):
        return None
    return max(rows - 1, 0)


def _shared_strings(z: zipfile.ZipFile) -> list[str]:
    try:
        root = ET.fromstring(z.read("xl/sharedStrings.xml"))
    except KeyError:
        return []
    return ["".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t"))
            for si in root.findall("m:si", _NS)]


def _cell_value(c, shared: list[str]) -> bool:
    """Whether a cell holds a value (an empty string is none; a formula is one)."""
    if c.find("m:f", _NS) is not None:
        return True
    if c.get("t") == "inlineStr":
        return any((t.text or "") != "" for t in c.iter(f"{{{_NS['m']}}}t"))
    v = c.find("m:v", _NS)
    if v is None or v.text is None:
        return False
    if c.get("t") == "s":
        i = int(v.text)
        return i < len(shared) and shared[i] != ""
    return v.text != ""
