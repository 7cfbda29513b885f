"""One odd row never blocks every mart (issue 18 item 11): a complaint whose status the
dictionary does not know (`重新打开`) and whose serial is mistyped (`SN-TYPO-0001`) flows on:
the run publishes, the complaint is in the marts with the spelling kept, the gap is listed, and
the delivery reconciles against the independent count (the hostile plant)."""

from __future__ import annotations

import pytest

from tests.test_foreign_plant import query

pytestmark = pytest.mark.integration
PATH = "crm/complaints_20250312.csv"


def test_an_unknown_status_and_a_typo_serial_do_not_block(hostile_run):
    home = hostile_run.settings.home
    trace = {r[0]: r[1:] for r in query(
        home, "select complaint_id, status, status_raw from marts.complaint_trace "
              "where complaint_id like 'RO-%'")}
    assert trace == {"RO-1": (None, "重新打开"), "RO-2": ("open", "新建")}
    gaps = {r[0] for r in query(home, "select value_seen from governance.dictionary_gaps "
                                      "where field like '%status%'")}
    assert "重新打开" in gaps
    assert query(home, "select records_counted, rows_read, rows_quarantined from "
                       f"raw._file_manifest where path = '{PATH}'") == [(2, 2, 0)]
    assert query(home, "select rows_read, rows_staged, rows_quarantined from "
                       f"governance.file_manifest where path = '{PATH}'") == [(2, 2, 0)]


def test_a_semicolon_csv_and_a_workbook_with_an_instructions_sheet_land(hostile_run):
    """Delivery forms a plant's tools produce (tests/support/hostile_plant.py): both files land
    row by row (the workbook's two data sheets, columns in another order on the second, rows
    numbered on), reconcile against the independent count, and the manifest says how they were
    read."""
    home = hostile_run.settings.home
    assert query(home, "select inspection_id, inspection_type, defects_found from "
                       "staging.stg_qms__inspections where inspection_id like 'QI-91%' "
                       "order by 1") == [("QI-9101", "IQC", 0), ("QI-9102", "FQC", 2)]
    assert query(home, "select receipt_no, material_lot, qty, _source_row from "
                       "staging.stg_erp__purchase_receipts where receipt_no like 'GR250306-%' "
                       "order by 1") == [("GR250306-01", "ML25030601", 300.0, 2),
                                         ("GR250306-02", "ML25030602", 200.0, 4)]
    files = {r[0]: r[1:] for r in query(
        home, "select path, status, records_counted, rows_read, rows_quarantined, detail "
              "from raw._file_manifest where path in ('qms/inspections_20250306.csv', "
              "'erp/purchase_receipts_20250306.xlsx')")}
    csv_file, xlsx_file = files["qms/inspections_20250306.csv"], files["erp/purchase_receipts_20250306.xlsx"]
    assert csv_file[:4] == ("loaded", 3, 3, 1) and xlsx_file[:4] == ("loaded", 2, 2, 0)
    # the report's totals row is set aside as what it is, not as a record missing its fields
    assert query(home, "select source_row, reason_code from governance.quarantine where "
                       "source_file = 'qms/inspections_20250306.csv'") == [(5, "summary_row")]
    assert "delimited by ';', not ','" in csv_file[4] and "header on row 2" in csv_file[4]
    assert xlsx_file[4] == ("read sheet '入库明细' (2 of 4); '填写说明' before it name(s) no "  # in the
                            "receipt_no/line_no/material_code/supplier_code/supplier_lot/"  # order
                            "material_lot/qty/unit/received_at; "  # of the dictionary: every run
                            "sheet '入库明细(下午)' read too: its rows 1-2 are rows 3-4 of this file")


def test_times_as_other_systems_write_them_land_at_the_right_instant(hostile_run):
    """A PLC's 20250305200000, an SQL Server ERP's 2025-03-07 10:00:00.000, a Chinese CRM's
    2025/3/15 下午 3:05:00 and 16时20分 (tests/support/hostile_plant.py CLOCK_FORM_FILES): every
    row lands, none is quarantined as an invalid timestamp, each at its plant-local instant
    (Asia/Shanghai, stored in UTC)."""
    import datetime as dt

    from tests.support.hostile_plant import CLOCK_FORM_FILES, CLOCK_FORMS_LOCAL

    def utc(local: str) -> dt.datetime:
        return dt.datetime.fromisoformat(local) - dt.timedelta(hours=8)

    home = hostile_run.settings.home
    got = [r[0] for r in query(home, "select ts from staging.stg_mes__process_readings where "
                                     "_source_file = 'mes/process_readings_20250306.csv' order by ts")]
    assert got == [utc(t) for t in CLOCK_FORMS_LOCAL["readings"]]
    assert query(home, "select shipped_at, delivered_at from staging.stg_erp__shipments "
                       "where shipment_no = 'DN-0701'") == [tuple(map(utc, CLOCK_FORMS_LOCAL["DN-0701"]))]
    got = dict(query(home, "select complaint_id, received_at from staging.stg_crm__complaints "
                           "where complaint_id like 'CT-%'"))
    assert got == {c: utc(CLOCK_FORMS_LOCAL[c]) for c in ("CT-1", "CT-2", "CT-3", "CT-4")}
    paths = ", ".join(f"'{p}'" for p in CLOCK_FORM_FILES)
    assert query(home, "select count(*) from governance.quarantine where source_file in "
                       f"({paths})") == [(0,)]
    assert sorted(query(home, "select path, rows_read, rows_staged, rows_quarantined from "
                              f"governance.file_manifest where path in ({paths})")) == [
        ("crm/complaints_20250315.csv", 4, 4, 0), ("erp/shipments_20250307.csv", 1, 1, 0),
        ("mes/process_readings_20250306.csv", 3, 3, 0)]
