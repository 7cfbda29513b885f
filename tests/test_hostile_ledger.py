"""An independent ledger (issue 18 item 1): the record count of each file comes from a reader
that shares none of the parser's assumptions, so a parser that swallows lines is caught."""

from __future__ import annotations

from pathlib import Path

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.ingest import ingest_entity
from orchestration.lib.ingest.ledger import count_records
from orchestration.lib.reconcile import collect_file_counts, reconcile
from orchestration.lib.settings import get_settings

HEADER = "complaint_id,channel,received_at,description,status\n"


def rows(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:02d},微信,2025-05-01 10:00,屏幕有划痕 {i},新建\n" for i in range(1, n + 1)]


def _ingest_with_an_unclosed_quote(tmp_path):
    root = tmp_path / "exports"
    (root / "crm").mkdir(parents=True)
    good, bad = rows("G", 25), rows("B", 25)
    bad[10] = 'B11,微信,2025-05-01 10:00,"the quote is never closed,新建\n'
    (root / "crm" / "complaints_20250501.csv").write_text(HEADER + "".join(good), encoding="utf-8")
    (root / "crm" / "complaints_20250502.csv").write_text(HEADER + "".join(bad), encoding="utf-8")
    # a multi-line quoted description and a blank line are no disagreement
    (root / "crm" / "complaints_20250503.csv").write_text(
        HEADER + 'M1,微信,2025-05-01 10:00,"two\nlines",新建\n\nM2,微信,2025-05-01 10:00,x,新建\n',
        encoding="gbk")
    settings_ = get_settings(tmp_path / "home", root)
    ingest_entity(settings_, load_dictionary(overlays=[]), "crm", "complaints")
    con = duckdb.connect(str(settings_.warehouse), read_only=True)
    try:
        manifest = {r[0]: r[1:] for r in con.execute(
            "select path, records_counted, rows_read from raw._file_manifest").fetchall()}
        notes = con.execute("select source_file, source_row, reason_code, detail from "
                            "raw._quarantine order by all").fetchall()
        landed = [r[0] for r in con.execute(
            "select complaint_id from raw.crm__complaints where _source_file = "
            "'crm/complaints_20250502.csv' order by _source_row").fetchall()]
        problems = reconcile(collect_file_counts(con))
    finally:
        con.close()
    assert manifest["crm/complaints_20250501.csv"] == (25, 25)
    assert manifest["crm/complaints_20250503.csv"] == (2, 2)
    return manifest["crm/complaints_20250502.csv"], notes, landed, problems


def test_an_unclosed_quote_costs_its_line_only(tmp_path):
    """The reader leaves the line with the unclosed quote out and reads the lines after it as
    their own records (landing._write_csv): nothing swallowed, the counts agree."""
    counts, notes, landed, problems = _ingest_with_an_unclosed_quote(tmp_path)
    assert counts == (25, 25)
    assert [n[:3] for n in notes] == [("crm/complaints_20250502.csv", 12, "malformed_row")]
    assert landed == [f"B{i:02d}" for i in range(1, 26) if i != 11]
    assert problems == []


def test_a_reader_that_swallows_lines_is_caught_and_blocks(tmp_path, monkeypatch):
    """Without that recovery the reader takes every line after the quote into one malformed
    record: the independent count finds 25 records where the reader read 11, and the ledger
    blocks the run."""
    from orchestration.lib.ingest import landing

    monkeypatch.setattr(landing, "MAX_SWALLOWING_QUOTES", 0)
    counts, notes, _landed, problems = _ingest_with_an_unclosed_quote(tmp_path)
    assert counts == (25, 11)
    mismatch = [n for n in notes if n[2] == "ledger_mismatch"]
    assert [n[0] for n in mismatch] == ["crm/complaints_20250502.csv"]
    assert "finds 25 records, the reader read 11" in mismatch[0][3]
    assert len(problems) == 1 and "complaints_20250502.csv" in problems[0]


cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"\r'),
                max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(cells, min_size=1, max_size=4), min_size=0, max_size=20))
def test_count_matches_a_well_formed_csv(tmp_path_factory, table):
    """Any well-formed csv (quoted cells may hold line breaks and commas): the count is the
    number of non-blank records written."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writerow(["h"])
    for r in table:
        w.writerow(r)
    p = Path(tmp_path_factory.mktemp("c")) / "x.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    assert count_records(p, "csv") == len(table)


def test_jsonl_row_defects_quarantine_the_row_not_the_file(tmp_path):
    """A line with Chinese keys is the same record shape as the English lines; a line with
    `complaint_id` twice is quarantined (never silently one of the two values)."""
    import json

    root = tmp_path / "exports"
    (root / "crm").mkdir(parents=True)
    en = {"complaint_id": "J1", "channel": "APP", "received_at": "2025-06-02 09:00",
          "description": "漏水", "status": "open"}
    zh = {"客诉单号": "J2", "渠道": "微信", "受理时间": "2025-06-02 10:00", "问题描述": "异响",
          "状态": "新建", "微信号": "wx-9"}
    lines = [json.dumps(en, ensure_ascii=False), json.dumps(zh, ensure_ascii=False),
             ('{"complaint_id": "J3", "complaint_id": "J4", "channel": "APP", '
             '"received_at": "2025-06-02 11:00", "description": "x", "status": "open"}'),
             ('{"complaint_id": "J5", "客诉单号": "J6", "channel": "APP", '
             '"received_at": "2025-06-02 11:00", "description": "x", "status": "open"}')]
    (root / "crm" / "complaints_20250602.jsonl").write_text("\n".join(lines) + "\n",
                                                          encoding="utf-8")
    settings_ = get_settings(tmp_path / "home", root)
    s = ingest_entity(settings_, load_dictionary(overlays=[]), "crm", "complaints")
    assert (s.rows_landed, s.rows_quarantined) == (2, 2)
    con = duckdb.connect(str(settings_.warehouse), read_only=True)
    try:
        landed = con.execute("select complaint_id, channel, _extra from raw.crm__complaints "
                             "order by 1").fetchall()
        q = con.execute("select source_row, reason_code, detail from raw._quarantine "
                        "order by 1").fetchall()
        counted = con.execute("select records_counted, rows_read from raw._file_manifest"
                              ).fetchall()
    finally:
        con.close()
    assert landed == [("J1", "APP", '{"微信号": null}'), ("J2", "微信", '{"微信号": "wx-9"}')]
    assert [r[:2] for r in q] == [(3, "duplicate_key"), (4, "duplicate_key")]
    assert "'complaint_id' appears twice" in q[0][2] and "'complaint_id' twice" in q[1][2]
    assert counted == [(4, 4)]


def test_xlsx_is_counted_from_its_xml_and_reconciles(tmp_path):
    """The ledger counts an xlsx file's data rows from the sheet XML (no spreadsheet library):
    blank rows and empty strings are no records, formulas and values beyond the header are;
    a second sheet is not read."""
    from openpyxl import Workbook

    root = tmp_path / "exports"
    (root / "crm").mkdir(parents=True)
    wb = Workbook()
    ws = wb.active
    ws.append([None])  # a blank row above the header
    ws.append(["客诉单号", "渠道", "受理时间", "问题描述", "状态"])
    ws.append(["X1", "微信", "2025-05-01 10:00", "漏水", "新建"])
    ws.append([None, "", None])  # blank: no record
    ws.append(["X2", "APP", "2025-05-01 11:00", "=A3", "新建"])  # a formula
    ws.append(["X3", "APP", "2025-05-01 12:00", "异响", "新建", "extra"])  # beyond the header
    ws.append(["X4", "APP", "2025-05-01 13:00", "异响", "新建"])
    wb.create_sheet("notes").append(["not", "read"])
    path = root / "crm" / "complaints_20250501.xlsx"
    wb.save(path)
    assert count_records(path, "xlsx") == 4
    settings_ = get_settings(tmp_path / "home", root)
    ingest_entity(settings_, load_dictionary(overlays=[]), "crm", "complaints")
    con = duckdb.connect(str(settings_.warehouse), read_only=True)
    try:
        counted = con.execute("select records_counted, rows_read, rows_landed, "
                              "rows_quarantined from raw._file_manifest").fetchall()
        problems = reconcile(collect_file_counts(con))
    finally:
        con.close()
    [(records, read, landed, quarantined)] = counted
    assert (records, read) == (4, 4) and landed + quarantined == 4 and quarantined >= 1
    assert problems == []


def test_a_broken_xlsx_is_not_counted(tmp_path):
    p = tmp_path / "x.xlsx"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    assert count_records(p, "xlsx") is None
