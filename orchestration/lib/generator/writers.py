"""Write one export file in a given format, encoding and header language, byte-deterministically."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from . import formats as F
from .reference import ZH, ZH_ENTITY


@dataclass(frozen=True)
class FileSpec:
    """How one file is delivered."""
    fmt: str  # csv | tsv | txt | xlsx | jsonl
    encoding: str = "utf-8"  # utf-8 | utf-8-sig | gbk | gb18030 (xlsx/jsonl: utf-8)
    header_language: str = "en"  # en | zh
    messy_headers: bool = False
    ts_form: str = "iso_space"
    date_form: str = "iso"
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.fmt in ("xlsx", "jsonl") and self.encoding != "utf-8":
            raise ValueError(f"{self.fmt} files are utf-8, not {self.encoding}")


def headers_for(system: str, entity: str, columns: list[str], spec: FileSpec) -> list[str]:
    """Header texts for `columns` in the spec's language, messy if asked."""
    over = ZH_ENTITY.get((system, entity), {})
    out = []
    for i, c in enumerate(columns):
        h = over.get(c, ZH.get(c, c)) if spec.header_language == "zh" else c
        if spec.messy_headers and i % 2 == 0:
            h = F.header_messy(h, i // 2)
        out.append(h)
    return out


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(round(v, 6)).removesuffix(".0") if v == int(v) and abs(v) < 1e15 else repr(v)
    return str(v)


def write_table(path: Path, headers: list[str], rows: list[list], spec: FileSpec,
                raw_lines: dict[int, str] | None = None) -> int:
    """Write header + rows; `raw_lines` (0-based row index -> text) replaces a row by raw text
    (jsonl only, for a malformed line). Returns the number of data rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if spec.fmt in ("csv", "tsv", "txt"):
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="," if spec.fmt == "csv" else "\t", lineterminator="\n")
        w.writerow(headers)
        for r in rows:
            w.writerow([_cell_text(v) for v in r])
        path.write_bytes(buf.getvalue().encode(spec.encoding))
    elif spec.fmt == "jsonl":
        lines = []
        for i, r in enumerate(rows):
            if raw_lines and i in raw_lines:
                lines.append(raw_lines[i])
            else:
                lines.append(json.dumps({h: v for h, v in zip(headers, r) if v is not None},
                                        ensure_ascii=False, separators=(",", ":")))
        path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    elif spec.fmt == "xlsx":
        write_xlsx(path, [headers] + rows)
    else:
        raise ValueError(f"unknown file format {spec.fmt!r} for {path}")
    return len(rows)


_ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def write_xlsx(path: Path, rows: list[list]) -> None:
    """A minimal one-sheet .xlsx (inline strings, numbers as numbers) with fixed zip dates."""
    out = [('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')]
    for ri, row in enumerate(rows, start=1):
        out.append(f'<row r="{ri}">')
        for ci, v in enumerate(row):
            if v is None or v == "":
                continue
            ref = f"{_col(ci)}{ri}"
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out.append(f'<c r="{ref}"><v>{_cell_text(v)}</v></c>')
            else:
                out.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(v))}</t></is></c>')
        out.append("</row>")
    out.append("</sheetData></worksheet>")
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '</Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>'),
        "xl/worksheets/sheet1.xml": "".join(out),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, text.encode("utf-8"))
