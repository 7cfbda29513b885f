"""A tiny dictionary and generators for the bad-input corpus (issue 8, item 1).

Files are written at test time (nothing big is committed): `write_corpus(root)` returns
{case: (relative path, expectation)}.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

# Two entities in the dictionary's shape (plain dicts; `spec_from_entity` adapts them).
DICTIONARY = [
    {"system": "crm", "name": "complaints", "fields": [
        {"name": "complaint_id", "aliases": ["客诉单号", "Complaint ID"], "required": True},
        {"name": "received_at", "aliases": ["受理时间"], "required": True},
        {"name": "description", "aliases": ["问题描述"], "required": True},
        {"name": "qty", "aliases": ["数量"]},
    ]},
    {"system": "mes", "name": "process_readings", "fields": [
        {"name": "equipment_id", "aliases": ["设备编号"], "required": True},
        {"name": "ts", "aliases": ["采集时间"], "required": True},
        {"name": "parameter", "aliases": ["参数"], "required": True},
        {"name": "value", "aliases": ["数值"], "required": True},
        {"name": "unit", "aliases": ["单位"], "required": True},
    ]},
]

HEADER = ["complaint_id", "received_at", "description", "qty"]
ROWS = [
    ["C001", "2024-03-15 14:02:11", "屏幕划痕 scratch", "1"],
    ["C002", "2024/3/15 14:02", "不开机", "2"],
    ["C003", "2024年3月15日 14:02", 'says "hello", then stops', ""],
]


def csv_text(header=HEADER, rows=ROWS, delim=",") -> str:
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_xlsx(path: Path, header, rows, merge: str | None = None) -> None:
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(header)
    for r in rows:
        ws.append(r)
    if merge:
        ws.merge_cells(merge)
    wb.save(path)


def write_xlsx_without_sheets(path: Path) -> None:
    """A workbook archive whose workbook.xml lists no sheets (Excel cannot save this)."""
    write_xlsx(path, HEADER, ROWS)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    wb = parts["xl/workbook.xml"].decode()
    start, end = wb.index("<sheets>"), wb.index("</sheets>") + len("</sheets>")
    parts["xl/workbook.xml"] = (wb[:start] + "<sheets/>" + wb[end:]).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)


def write_jsonl(path: Path, rows: list[dict], broken: list[str] = ()) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows] + list(broken)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
