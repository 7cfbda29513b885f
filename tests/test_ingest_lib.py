"""Ingest library on tiny fixtures: formats, encodings, lineage, manifest, incremental runs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from bad_inputs.corpus import DICTIONARY, HEADER, ROWS, csv_text, write_jsonl, write_xlsx
from hypothesis import example, given
from hypothesis import strategies as st

from orchestration.lib.ingest import discover, ensure_raw_tables, ingest_entity
from orchestration.lib.ingest.encoding import ends_lines_with_cr, legacy_encoding, lines_of
from orchestration.lib.settings import get_settings
from orchestration.lib.warehouse import connect

ZH_HEADER = ["客诉单号", " 受理时间 ", "问题描述", "数量"]
WIDE_HEADER = ["Ｃｏｍｐｌａｉｎｔ\u3000ＩＤ", "受理时间", "问题描述 ", "QTY"]


@pytest.fixture()
def plant(tmp_path: Path):
    exports = tmp_path / "exports"
    (exports / "crm").mkdir(parents=True)
    (exports / "mes").mkdir()
    return get_settings(tmp_path / "home", exports)


def _rows(settings, where="1=1"):
    with connect(settings) as con:
        return con.execute(
            "SELECT complaint_id, received_at, description, qty, _source_file, _source_row "
            f"FROM raw.crm__complaints WHERE {where} ORDER BY _source_file, _source_row"
        ).fetchall()


def _manifest(settings):
    with connect(settings) as con:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT path, status, rows_read, rows_landed, rows_quarantined, duplicate_of, "
            "detail FROM raw._file_manifest").fetchall()}


def test_raw_tables_exist_before_any_file(plant):
    ensure_raw_tables(plant, DICTIONARY)
    with connect(plant) as con:
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema='raw' "
            "AND table_name='mes__process_readings' ORDER BY ordinal_position").fetchall()]
    assert cols == ["equipment_id", "ts", "parameter", "value", "unit", "_extra",
                    "_source_file", "_source_row", "_file_sha256", "_loaded_at"]


def test_formats_and_encodings_land_the_same_values(plant):
    crm = plant.exports / "crm"
    (crm / "complaints_20240301.csv").write_text(csv_text(), encoding="utf-8")
    (crm / "complaints_20240302.csv").write_bytes(csv_text(ZH_HEADER).encode("gb18030"))
    (crm / "complaints_20240303.csv").write_text(csv_text(), encoding="utf-8-sig")
    (crm / "complaints_20240304.tsv").write_text(csv_text(delim="\t"), encoding="utf-8")
    write_xlsx(crm / "complaints_20240305.xlsx", WIDE_HEADER, ROWS)
    write_jsonl(crm / "complaints_20240306.jsonl",
                [{k: v for k, v in zip(HEADER, r) if v != ""} for r in ROWS])
    s = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert [f.status for f in s.files] == ["loaded"] * 6
    by_file: dict[str, list] = {}
    for *values, f, _ in _rows(plant):
        by_file.setdefault(f, []).append(tuple(values))
    expected = [tuple(v or None for v in r) for r in ROWS]
    assert len(by_file) == 6
    for f, values in by_file.items():
        assert values == expected, f


def test_lineage_rows_and_extra_columns(plant):
    crm = plant.exports / "crm"
    text = csv_text(HEADER + ["Remark 备注"], [r + [f"x{i}"] for i, r in enumerate(ROWS)])
    # a row without the cell of a required field (description) is malformed; one that only
    # leaves out trailing optional cells would land (test_bad_input_corpus)
    (crm / "complaints_20240301.csv").write_text(text + "C9,too\n", encoding="utf-8")
    s = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    f = s.files[0]
    assert (f.rows_read, f.rows_landed, f.rows_quarantined) == (4, 3, 1)
    assert [r[5] for r in _rows(plant)] == [2, 3, 4]
    with connect(plant) as con:
        extra = con.execute("SELECT _extra FROM raw.crm__complaints ORDER BY _source_row"
                            ).fetchall()
        q = con.execute("SELECT source_row, reason_code, raw_record FROM raw._quarantine"
                        ).fetchall()
        gaps = con.execute("SELECT header_seen FROM raw._header_gaps").fetchall()
    assert json.loads(extra[0][0]) == {"Remark 备注": "x0"}
    assert q == [(5, "malformed_row", "C9,too")]
    assert gaps == [("Remark 备注",)]


def test_duplicate_delivery_and_incremental_runs(plant):
    crm = plant.exports / "crm"
    (crm / "complaints_20240301.csv").write_text(csv_text(), encoding="utf-8")
    assert ingest_entity(plant, DICTIONARY, "crm", "complaints").rows_landed == 3
    again = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert again.new_files == 0 and again.rows_landed == 0
    (crm / "complaints_20240302_2.csv").write_bytes((crm / "complaints_20240301.csv").read_bytes())
    dup = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert [f.status for f in dup.files if f.status != "skipped"] == ["duplicate_delivery"]
    assert len(_rows(plant)) == 3
    m = _manifest(plant)
    assert m["crm/complaints_20240302_2.csv"][:5] == ("duplicate_delivery", 0, 0, 0,
                                                       "crm/complaints_20240301.csv")
    (crm / "complaints_20240303.csv").write_text(csv_text(rows=ROWS[:1]), encoding="utf-8")
    new = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert new.new_files == 1 and new.rows_landed == 1 and len(_rows(plant)) == 4


def test_changed_file_under_same_name_supersedes(plant):
    p = plant.exports / "crm" / "complaints_20240301.csv"
    p.write_text(csv_text(), encoding="utf-8")
    ingest_entity(plant, DICTIONARY, "crm", "complaints")
    p.write_text(csv_text(rows=ROWS[:2]) + "bad\n", encoding="utf-8")
    os.utime(p, (1, 1))
    s = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert s.files[0].status == "loaded" and len(s.files[0].superseded) == 1
    assert [r[0] for r in _rows(plant)] == ["C001", "C002"]
    with connect(plant) as con:
        statuses = sorted(r[0] for r in con.execute(
            "SELECT status FROM raw._file_manifest").fetchall())
        assert con.execute("SELECT count(*) FROM raw._quarantine").fetchone()[0] == 1
    assert statuses == ["loaded", "superseded"]


def test_missing_required_column_quarantines_the_file_whole(plant):
    crm = plant.exports / "crm"
    (crm / "complaints_20240301.csv").write_text("complaint_id,qty\nC1,1\n", encoding="utf-8")
    (crm / "complaints_20240302.csv").write_text(csv_text(), encoding="utf-8")
    s = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert [f.status for f in s.files] == ["quarantined", "loaded"]
    with connect(plant) as con:
        q = con.execute("SELECT source_row, reason_code, detail FROM raw._quarantine").fetchall()
    assert q[0][:2] == (None, "missing_required_column")
    assert "received_at" in q[0][2] and "description" in q[0][2]
    assert "crm/complaints_20240301.csv" in q[0][2]


def test_an_xlsx_report_with_a_title_above_its_header_lands(plant):
    """Excel reports put a title (and blank rows) above the header: the header is the first of
    the first rows that names every required field; the rows above are no data, said in the
    manifest, and the independent count still reconciles. A sheet none of whose first rows
    names them is still quarantined whole, the first row judged the header."""
    import openpyxl

    crm = plant.exports / "crm"
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in (["客诉明细报表 2024-03-15"], ["导出人: 张三", None, "导出时间: 2024-03-15"], [None],
              HEADER, *ROWS):
        ws.append(r)
    wb.save(crm / "complaints_20240315.xlsx")
    wb = openpyxl.Workbook()
    wb.active.append(["客诉明细报表"])
    wb.active.append(["complaint_id", "qty"])
    wb.active.append(["C9", "1"])
    wb.save(crm / "complaints_20240316.xlsx")
    s = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert [f.status for f in s.files] == ["loaded", "quarantined"]
    got = _rows(plant, "_source_file = 'crm/complaints_20240315.xlsx'")
    assert [r[0] for r in got] == [r[0] for r in ROWS]
    assert [r[5] for r in got] == list(range(5, 5 + len(ROWS)))  # the sheet's own row numbers
    m = _manifest(plant)["crm/complaints_20240315.xlsx"]
    assert m[:4] == ("loaded", len(ROWS), len(ROWS), 0)
    assert "header on row 4" in m[5] and "客诉明细报表 2024-03-15" in m[5]
    with connect(plant) as con:
        q = con.execute("SELECT source_file, reason_code, detail FROM raw._quarantine").fetchall()
    assert [(f, r) for f, r, _ in q] == [("crm/complaints_20240316.xlsx", "missing_required_column")]
    assert "'客诉明细报表'" in q[0][2]  # the first row, judged the header, is shown


def test_an_xlsx_workbook_is_read_from_its_data_sheets(plant):
    """A workbook whose first sheet is a cover or instructions sheet: the first sheet naming
    the required fields is read (its own row numbers), the sheets passed over are said in the
    manifest; a later sheet with the entity's header (a second month) is read too, its rows
    numbered on after the first's, and the independent count is of the sheets read."""
    import openpyxl

    crm = plant.exports / "crm"
    wb = openpyxl.Workbook()
    wb.active.title = "填写说明"
    for r in (["本表由 CRM 导出"], ["字段说明", "见下"], ["客诉单号", "工单编号"]):
        wb.active.append(r)
    data = wb.create_sheet("明细")
    for r in (["客诉明细 2024-03"], HEADER, *ROWS):
        data.append(r)
    more = wb.create_sheet("明细(2)")
    for r in (HEADER, ROWS[0]):
        more.append(r)
    wb.create_sheet("汇总").append(["合计", len(ROWS)])
    wb.save(crm / "complaints_20240317.xlsx")
    s = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert [f.status for f in s.files] == ["loaded"]
    got = _rows(plant)
    assert [r[0] for r in got] == [r[0] for r in ROWS] + [ROWS[0][0]]
    last = 2 + len(ROWS)  # 明细's own row numbers, then 明细(2)'s row 2 after 明细's last row
    assert [r[5] for r in got] == [*range(3, last + 1), last + 2]
    m = _manifest(plant)["crm/complaints_20240317.xlsx"]
    assert m[:4] == ("loaded", len(ROWS) + 1, len(ROWS) + 1, 0)  # both sheets counted
    assert "read sheet '明细' (2 of 4); '填写说明' before it" in m[5]
    assert (f"sheet '明细(2)' read too: its rows 1-2 are rows {last + 1}-{last + 2} of this file"
            in m[5])
    assert "header on row 2" in m[5]


def test_monthly_sheets_land_as_one_file_realigned_by_field(plant):
    """Sheets 1月, 2月 and 3月 of one export: 2月 puts its columns in another order and adds
    one the dictionary does not know, all land in field order, every row with its own row
    number; a row's problem names its sheet and own row; 3月 maps to other fields (no qty
    column) and is not read, which the manifest says."""
    import openpyxl

    crm = plant.exports / "crm"
    wb = openpyxl.Workbook()
    wb.active.title = "1月"
    for r in (HEADER, ROWS[0]):
        wb.active.append(r)
    feb = wb.create_sheet("2月")
    order = [len(HEADER) - 1, *range(len(HEADER) - 1)]
    feb.append(["备注"] + [HEADER[i] for i in order])
    feb.append(["回访"] + [ROWS[1][i] for i in order])
    feb.append(["公式"] + ["=1+1"] + [ROWS[2][i] for i in order[1:]])
    mar = wb.create_sheet("3月")
    mar.append(HEADER[:3])
    mar.append(["C99", *ROWS[0][1:3]])
    wb.save(crm / "complaints_20240321.xlsx")
    s = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert [f.status for f in s.files] == ["loaded"]
    got = _rows(plant)
    assert [tuple(r[:4]) for r in got] == [tuple(ROWS[0]), tuple(ROWS[1])]
    assert [r[5] for r in got] == [2, 4]  # 1月 rows 1-2, then 2月 rows 1-3 as rows 3-5
    with connect(plant) as con:
        extra = con.execute("SELECT _extra FROM raw.crm__complaints WHERE _source_row = 4"
                            ).fetchone()[0]
        q = con.execute("SELECT source_row, reason_code, detail FROM raw._quarantine").fetchall()
    assert "回访" in extra
    assert [(n, r) for n, r, _ in q] == [(5, "formula_cell")]
    assert "complaints_20240321.xlsx sheet '2月' row 3" in q[0][2]
    m = _manifest(plant)["crm/complaints_20240321.xlsx"]
    assert m[:4] == ("loaded", 3, 2, 1)  # 1月 and 2月 counted, 3月 not read
    assert "sheet '2月' read too: its rows 1-3 are rows 3-5 of this file" in m[5]
    assert "'3月' (differs in qty) also hold a header of this entity with other " \
           "fields and were NOT read" in m[5]


def test_a_text_file_with_another_delimiter_lands_and_is_said(plant):
    """A `;`-separated .csv (a European Excel) and a comma-separated .txt (tab expected): the
    header names every required field only under that delimiter, so the file is read with it,
    row by row as any other, and the manifest says so. A file no delimiter makes sense of is
    still quarantined whole with the hint."""
    crm = plant.exports / "crm"
    (crm / "complaints_20240318.csv").write_bytes(
        ("客诉明细\n" + csv_text(ZH_HEADER, delim=";")).encode("gb18030"))
    (crm / "complaints_20240319.txt").write_text(csv_text(), encoding="utf-8")
    (crm / "complaints_20240320.csv").write_text("complaint_id;qty\nC9;1\n", encoding="utf-8")
    s = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert [f.status for f in s.files] == ["loaded", "loaded", "quarantined"]
    for name, first in (("complaints_20240318.csv", 3), ("complaints_20240319.txt", 2)):
        got = _rows(plant, f"_source_file = 'crm/{name}'")
        assert [r[:3] for r in got] == [tuple(r[:3]) for r in ROWS]  # commas inside stay text
        assert [r[5] for r in got] == list(range(first, first + len(ROWS)))
    m = _manifest(plant)
    assert m["crm/complaints_20240318.csv"][:4] == ("loaded", len(ROWS), len(ROWS), 0)
    assert "delimited by ';', not ','" in m["crm/complaints_20240318.csv"][5]
    assert "header on row 2" in m["crm/complaints_20240318.csv"][5]
    assert "delimited by ',', not '\\t'" in m["crm/complaints_20240319.txt"][5]
    with connect(plant) as con:
        q = con.execute("SELECT source_file, reason_code, detail FROM raw._quarantine").fetchall()
    assert [(f, r) for f, r, _ in q] == [("crm/complaints_20240320.csv", "missing_required_column")]
    assert "a single column: expected ','" in q[0][2]


def test_an_xls_workbook_lands_like_an_xlsx_one(plant):
    """A legacy .xls export (Excel 97-2003): read from its data sheet with the sheet's own row
    numbers, a date cell as ISO text, the sheets passed over said; a damaged one is quarantined
    whole naming the file."""
    import datetime as dt

    import xlwt

    crm = plant.exports / "crm"
    wb = xlwt.Workbook(encoding="utf-8")
    wb.add_sheet("导出说明").write(0, 0, "CRM 客诉导出")
    data = wb.add_sheet("客诉")
    stamp = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS")
    for c, h in enumerate(ZH_HEADER):
        data.write(1, c, h)  # row 1 is blank: the header is the sheet's row 2
    data.write(2, 0, "C001")
    data.write(2, 1, dt.datetime(2024, 3, 15, 14, 2, 11), stamp)
    data.write(2, 2, "屏幕划痕 scratch")
    data.write(2, 3, 1)
    data.write(3, 0, "C002")
    data.write(3, 1, "2024/3/15 14:02")
    data.write(3, 2, "不开机")
    wb.save(str(crm / "complaints_20240321.xls"))
    (crm / "complaints_20240322.xls").write_bytes(b"\xd0\xcf\x11\xe0 not really a workbook")
    s = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert [f.status for f in s.files] == ["loaded", "quarantined"]
    assert _rows(plant) == [
        ("C001", "2024-03-15 14:02:11", "屏幕划痕 scratch", "1", "crm/complaints_20240321.xls", 3),
        ("C002", "2024/3/15 14:02", "不开机", None, "crm/complaints_20240321.xls", 4)]
    m = _manifest(plant)["crm/complaints_20240321.xls"]
    assert m[:4] == ("loaded", 2, 2, 0)
    assert "read sheet '客诉' (2 of 2); '导出说明' before it" in m[5]
    with connect(plant) as con:
        q = con.execute("SELECT source_file, reason_code, detail FROM raw._quarantine").fetchall()
    assert [(f, r) for f, r, _ in q] == [("crm/complaints_20240322.xls", "unreadable_file")]
    assert "not a readable xls workbook" in q[0][2]


def test_a_csv_report_with_a_title_above_its_header_lands(plant):
    """The same for a text export (GB18030, as Chinese report tools write them): title lines,
    a blank line and a quoted, comma-holding filter line above the header are read past; row
    numbers stay the file's own lines, a malformed row is quarantined at its own line, and the
    independent count reconciles. A file whose first lines never name the required fields is
    quarantined whole, as before."""
    import csv as _csv
    import io as _io

    crm = plant.exports / "crm"
    buf = _io.StringIO()
    w = _csv.writer(buf, lineterminator="\r\n")
    w.writerows([["客诉明细报表"], ["导出时间: 2024-03-15", "筛选: 全部渠道, 全部状态"]])
    buf.write("\r\n")  # a blank line
    rows = [*ROWS, ["C004", "2024-03-16 10:00", "按键失灵", "1"]]
    w.writerows([HEADER, *rows[:2]])
    buf.write(",".join(rows[2][:2]) + "\r\n")  # too few fields: quarantined at line 7
    w.writerows(rows[3:])
    (crm / "complaints_20240315.csv").write_bytes(buf.getvalue().encode("gb18030"))
    (crm / "complaints_20240316.csv").write_text("客诉明细报表\ncomplaint_id,qty\nC9,1\n",
                                                 encoding="utf-8")
    s = ingest_entity(plant, DICTIONARY, "crm", "complaints")
    assert [f.status for f in s.files] == ["loaded", "quarantined"]
    got = _rows(plant, "_source_file = 'crm/complaints_20240315.csv'")
    assert [r[0] for r in got] == ["C001", "C002", "C004"]
    assert [r[5] for r in got] == [5, 6, 8]  # the file's own lines
    m = _manifest(plant)["crm/complaints_20240315.csv"]
    assert m[:4] == ("loaded", 4, 3, 1)
    assert "header on row 4" in m[5] and "客诉明细报表" in m[5] and "全部渠道, 全部状态" in m[5]
    with connect(plant) as con:
        q = con.execute("SELECT source_file, source_row, reason_code FROM raw._quarantine "
                        "ORDER BY source_file").fetchall()
    assert q[0][:2] == ("crm/complaints_20240315.csv", 7) and q[0][2] != "ledger_mismatch"
    assert [(f, r) for f, _, r in q[1:]] == [("crm/complaints_20240316.csv",
                                             "missing_required_column")]


def test_discover_reports_unmatched_names(plant):
    crm = plant.exports / "crm"
    (crm / "complaints_20240301.csv").write_text(csv_text(), encoding="utf-8")
    (crm / "orders_20240301.csv").write_text(csv_text(), encoding="utf-8")
    (crm / "notes.txt").write_text("hello", encoding="utf-8")
    (plant.exports / "truth.json").write_text("{}")
    found = {f.rel_path: f for f in discover(plant.exports, DICTIONARY)}
    assert set(found) == {"crm/complaints_20240301.csv", "crm/orders_20240301.csv",
                          "crm/notes.txt", "truth.json"}
    # a note beside the exports is listed, not quarantined (tests/test_hostile_paths.py)
    assert found["truth.json"].entity is None and found["truth.json"].reason is None
    assert found["crm/orders_20240301.csv"].entity is None
    assert "orders" in found["crm/orders_20240301.csv"].problem
    ingest_entity(plant, DICTIONARY, "crm", "complaints")
    with connect(plant) as con:
        q = con.execute("SELECT source_file, reason_code FROM raw._quarantine ORDER BY 1"
                        ).fetchall()
    assert q == [("crm/notes.txt", "unknown_entity"), ("crm/orders_20240301.csv",
                                                       "unknown_entity")]


def test_every_ingest_reason_code_is_documented_in_the_dictionary():
    from orchestration.lib.dictionary import load_dictionary
    from orchestration.lib.ingest.errors import ALL_REASONS

    codes = {r.code for r in load_dictionary().reason_codes}
    assert set(ALL_REASONS) <= codes


def test_real_dictionary_entities_map_their_aliases():
    from orchestration.lib.dictionary import load_dictionary
    from orchestration.lib.ingest import entity_specs

    specs = {s.table: s for s in entity_specs(load_dictionary())}
    assert len(specs) == 16
    c = specs["crm__complaints"]
    assert c.canonical(" 客诉单号 ") == "complaint_id"
    assert c.canonical("Ｃｏｍｐｌａｉｎｔ\u3000ＩＤ") == "complaint_id"
    assert c.canonical("no such column") is None


def test_every_documented_reason_code_is_emitted_somewhere_and_only_those():
    """A reason code lives in data_dictionary/governance.yml once; ingest (errors.py) and the
    staging macro (`checks.append(..., '<code>:<field>', ...)`) emit exactly those codes."""
    import re

    from orchestration.lib.dictionary import load_dictionary
    from orchestration.lib.ingest.errors import ALL_REASONS
    from orchestration.lib.settings import DBT_PROJECT_DIR

    documented = {r.code for r in load_dictionary().reason_codes}
    staging = set()
    for sql in sorted((DBT_PROJECT_DIR / "macros").rglob("*.sql")) + sorted(
            (DBT_PROJECT_DIR / "models").rglob("*.sql")):
        staging |= set(re.findall(r"'([a-z_]+):' ~ ", sql.read_text(encoding="utf-8")))
    assert staging, "no staging reject rule found: the pattern above is out of date"
    emitted = set(ALL_REASONS) | staging
    assert documented - emitted == set(), "documented but never emitted"
    assert emitted - documented == set(), "emitted but not documented"


def test_headers_with_a_qualifier_or_required_marks_map_to_their_field():
    """Report templates write `数量（件）`, `Reading (°F)`, `*工单号`: the field is found from
    the rest of the header; a column naming the field exactly wins over a qualified one; a
    unit in a value's header is every row's unit only when the file has no unit column."""
    from orchestration.lib.dictionary import load_dictionary
    from orchestration.lib.ingest.errors import IngestError
    from orchestration.lib.ingest.readers import map_header
    from orchestration.lib.ingest.spec import entity_specs

    specs = {(s.system, s.name): s for s in entity_specs(load_dictionary(overlays=[]))}
    readings = specs[("mes", "process_readings")]
    cols = map_header(["*设备编号", "采集时间 ", "参数", "Reading (°F)"], readings, "r.csv")
    assert cols.field_at == {"equipment_id": 0, "ts": 1, "parameter": 2, "value": 3}
    assert cols.constants == {"unit": "°F"} and cols.extras == []
    cols = map_header(["设备编号", "时间", "参数", "读数（℃）", "单位"], readings, "r.csv")
    assert cols.field_at["unit"] == 4 and cols.constants == {}  # the column says it
    consumption = specs[("mes", "material_consumption")]
    qty = next(f for f, i in map_header(
        ["批次", "物料编码", "物料批号", "数量（件）", "单位"], consumption, "c.csv").field_at.items() if i == 3)
    assert qty == "qty"
    cols = map_header(["批次", "物料编码", "物料批号", "数量", "数量（件）", "单位"], consumption, "c.csv")
    assert cols.field_at["qty"] == 3 and cols.extras == [(4, "数量（件）")]
    with pytest.raises(IngestError, match="missing required column"):
        map_header(["设备编号", "时间", "参数", "读数"], readings, "r.csv")  # no unit at all


# the header-qualifier form as a regular expression (what normalize._split_qualifier scans for,
# without the backtracking: only short texts here)
_QUALIFIED_FORM = re.compile(
    r"^[*\s]*(?P<base>.*?)\s*[(\[【](?P<qualifier>[^()\[\]【】]*)[)\]】][*\s:]*$")


@given(st.text(alphabet="a数 *:()[]【】\n\t\u3000", max_size=16))
@example(text="数量\n（件）")
@example(text="开始\n时间(h)")
@example(text="a(b):)")
@example(text="* (x) :")
def test_the_qualifier_scan_reads_what_the_regular_expression_reads(text):
    from orchestration.lib.dictionary.normalize import _split_qualifier

    m = _QUALIFIED_FORM.match(text)
    assert _split_qualifier(text) == (None if m is None else (m["base"], m["qualifier"]))


@given(st.text(alphabet="a合计 :：\u3000\t\n\xa0", max_size=14))
@example(text="合计：")
@example(text="a : b :")
def test_the_totals_label_key_trims_what_the_regular_expression_trimmed(text):
    from orchestration.lib.ingest.spec import summary_label_key

    as_before = re.sub(r"^[\s\u3000]+|[\s\u3000:：]+$", "", text).lower()
    assert summary_label_key(text) == as_before


def test_every_alias_with_a_qualifier_maps_back_to_it():
    """For every header spelling of the shipped dictionary, a bracketed qualifier (half- or
    full-width) and `*` marks around it leave the spelling's lookup key."""
    import unicodedata

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from orchestration.lib.dictionary import load_dictionary
    from orchestration.lib.dictionary.normalize import header_qualifier, normalize_header

    spellings = sorted({a for e in load_dictionary(overlays=[]).entities for f in e.fields
                        for a in (f.name, *f.aliases)})
    brackets = st.sampled_from([("(", ")"), ("（", "）"), ("[", "]"), ("【", "】")])
    qualifier = st.text(st.characters(blacklist_characters="()（）[]【】\r\n",
                                      blacklist_categories=("Cs",)), min_size=1, max_size=6).filter(
        # a qualifier holds no bracket, also none that NFKC makes one of (⁽ is "(")
        lambda q: not any(c in unicodedata.normalize("NFKC", q) for c in "()（）[]【】"))

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(spellings), brackets, qualifier, st.sampled_from(["", "*", " "]),
           st.sampled_from(["", " ", "*"]))
    def check(spelling, pair, q, before, gap):
        base, got = header_qualifier(f"{before}{spelling}{gap}{pair[0]}{q}{pair[1]}")
        assert base == normalize_header(spelling)
        if unicodedata.normalize("NFKC", q).replace("\ufeff", "").strip():  # a BOM is no text
            assert got is not None

    check()


@pytest.mark.parametrize(("content", "lines"), [
    (b"a,b\rc,d\r", [b"a,b\r", b"c,d\r"]),
    (b"a,b\rc,d", [b"a,b\r", b"c,d"]),
    (b"a,b\r\nc,d\r\n", [b"a,b\r\n", b"c,d\r\n"]),
    (b"a,\"x\ry\"\nc,d\n", [b"a,\"x\ry\"\n", b"c,d\n"]),  # a stray CR in a LF file
    (b"a,b", [b"a,b"]),
    (b"", [])])
def test_lines_end_on_cr_alone_only_in_a_file_without_line_feeds(tmp_path, content, lines):
    """Excel for Mac's CSV ends lines with CR alone; a CRLF file or a LF file holding a CR
    in a value is read on its LFs."""
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    assert ends_lines_with_cr(path) is (b"\r" in content and b"\n" not in content)
    with open(path, "rb") as fh:
        assert list(lines_of(fh, path)) == lines


_COMMON_ZH = "屏幕划痕漏水不开机异响发热电池客户很着急批次产线班次温度压力型号已关闭新建处理中广东浙江四川"


@given(st.lists(st.text(alphabet=_COMMON_ZH + "abcXYZ0129 ,.-:/（）", min_size=1, max_size=30)
                .filter(lambda t: any(c in _COMMON_ZH for c in t)), min_size=1, max_size=20))
def test_chinese_text_that_is_not_utf8_stays_gb18030(lines):
    """However Chinese words and ASCII mix, GBK bytes come in pairs: never taken for Windows-1252."""
    runs = [len(r) for line in lines
            for r in re.findall(rb"[\x80-\xff]+", line.encode("gbk"))]
    assert legacy_encoding(runs) == "gb18030"
