"""Exports of systems plants run, written by hand in their own column headings: a Salesforce
case report, SAP delivery and goods-receipt lists, a Kingdee-style production report and a
U8-style issue list. Each lands on the first run with the shipped dictionary: every required
column is named, nothing is quarantined, and only the columns no field means are left in
`_extra` (header gaps)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.ingest import ingest_entity
from orchestration.lib.settings import get_settings
from orchestration.lib.warehouse import connect

EXPORTS = {
    # Salesforce: Reports > Cases, exported as CSV (UTF-8 with a BOM)
    "crm/complaints_20250410.csv": (
        "\ufeffCase Number,Case Origin,Status,Priority,Subject,Description,Date/Time Opened,"
        "Date/Time Closed,Contact Name,Contact Phone,Product\n"
        "00001027,Phone,New,High,Fan noise,Fan rattles at every speed since delivery,"
        "4/10/2025 9:12 AM,,Jane Roe,+1 555 0142,AP-200\n"
        "00001028,Web,Closed,Medium,Will not start,Unit does not power on,"
        "4/10/2025 2:40 PM,4/10/2025 5:05 PM,John Poe,+1 555 0199,AP-500\n"),
    # SAP: outbound deliveries list (custom layout with the ship-to province)
    "erp/shipments_20250410.csv": (
        "Delivery,Delivery Item,Ship-to Party,Province,Material,Batch,Delivery Quantity,"
        "Sales Unit,Actual GI Date\n"
        "80001234,10,C100200,Zhejiang,P0101,B25030301001,60,PC,2025-04-10 10:00:00.000\n"),
    # SAP: material documents of goods receipts
    "erp/purchase_receipts_20250410.csv": (
        "Material Document,Material Doc. Item,Material,Vendor,Vendor Batch,Batch,"
        "Qty in Unit of Entry,Unit of Entry,Posting Date,Movement Type\n"
        "5000001234,1,M-PCB1,V-301,HD2504-01,ML25041001,300,PC,2025-04-10,101\n"),
    # Kingdee-style production report (Chinese headings)
    "mes/production_batches_20250410.csv": (
        "生产批号,生产订单号,物料编码,工作中心,班次,实际开工时间,实际完工时间,完工数量,合格品数量\n"
        "20250410-L1-1,MO-0410-01,P0101,L1,白班,2025/4/10 8:00,2025/4/10 16:00,120,118\n"),
    # U8-style material issue list
    "mes/material_consumption_20250410.csv": (
        "批次,子件编码,子件批号,领用数量,计量单位\n"
        "20250410-L1-1,M-PCB1,ML25041001,120,PCS\n"),
}
EXPECTED_EXTRA = {
    "crm/complaints_20250410.csv": {"Subject"},
    "erp/purchase_receipts_20250410.csv": {"Movement Type"},
}


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    root = tmp_path_factory.mktemp("known_systems")
    exports = root / "exports"
    for rel, text in EXPORTS.items():
        path = exports / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    settings = get_settings(root / "home", exports)
    dictionary = load_dictionary(overlays=[])
    for rel in EXPORTS:
        system, name = rel.split("/")[0], Path(rel).stem.rsplit("_", 1)[0]
        ingest_entity(settings, dictionary, system, name)
    return settings


def _q(settings, sql):
    with connect(settings, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_file_lands_whole(landed):
    manifest = {r[0]: r[1:] for r in _q(landed, "select path, status, rows_read, rows_landed, "
                                                "rows_quarantined from raw._file_manifest")}
    want = {rel: ("loaded", text.count("\n") - 1, text.count("\n") - 1, 0)
            for rel, text in EXPORTS.items()}
    assert manifest == want
    assert _q(landed, "select count(*) from raw._quarantine") == [(0,)]


def test_only_columns_no_field_means_are_header_gaps(landed):
    gaps: dict[str, set] = {}
    for file, header in _q(landed, "select source_file, header_seen from raw._header_gaps"):
        gaps.setdefault(file, set()).add(header)
    assert gaps == EXPECTED_EXTRA


def test_the_named_fields_hold_the_values(landed):
    assert _q(landed, "select complaint_id, channel, received_at, product_model, closed_at "
                      "from raw.crm__complaints order by 1") == [
        ("00001027", "Phone", "4/10/2025 9:12 AM", "AP-200", None),
        ("00001028", "Web", "4/10/2025 2:40 PM", "AP-500", "4/10/2025 5:05 PM")]
    # Contact Name / Contact Phone are the customer's: stored masked, as any plant's
    phones = [r[0] for r in _q(landed, "select customer_phone from raw.crm__complaints")]
    assert phones and all("****" in p and "0142" not in p[:-4] for p in phones)
    names = {r[0] for r in _q(landed, "select customer_name from raw.crm__complaints")}
    assert not names & {"Jane Roe", "John Poe"}
    assert _q(landed, "select shipment_no, line_no, customer_code, product_code, batch_no, qty, "
                      "unit from raw.erp__shipments") == [
        ("80001234", "10", "C100200", "P0101", "B25030301001", "60", "PC")]
    assert _q(landed, "select receipt_no, line_no, material_code, supplier_code, supplier_lot, "
                      "material_lot, received_at from raw.erp__purchase_receipts") == [
        ("5000001234", "1", "M-PCB1", "V-301", "HD2504-01", "ML25041001", "2025-04-10")]
    assert _q(landed, "select batch, work_order_no, line, qty_produced, qty_good "
                      "from raw.mes__production_batches") == [
        ("20250410-L1-1", "MO-0410-01", "L1", "120", "118")]
    assert _q(landed, "select material_code, material_lot, qty from "
                      "raw.mes__material_consumption") == [("M-PCB1", "ML25041001", "120")]


def test_the_us_times_wait_for_the_owner_to_say_month_first(landed, tmp_path):
    """Salesforce writes 4/10/2025 9:12 AM: no number above 12, so the order is not guessed;
    `dictionary suggest` offers both, and the month-first form it wrote reads every time."""
    import yaml

    from orchestration.lib.dictionary.suggest import build_patch, profile_exports

    d = load_dictionary(overlays=[])
    patch = build_patch(profile_exports(landed.exports, d), d, landed.exports)
    [choice] = patch["review"]["timestamp_form_choices"]
    assert choice["fields"] == ["crm.complaints.closed_at", "crm.complaints.received_at"]
    assert choice["month_first"]["format"] == "%m/%d/%Y %I:%M %p"
    overlay = tmp_path / "plant.yml"
    overlay.write_text(yaml.safe_dump({"timestamp_formats": [choice["month_first"]]}),
                       encoding="utf-8")
    d2 = load_dictionary(overlays=[overlay])
    again = build_patch(profile_exports(landed.exports, d2), d2, landed.exports)
    assert "values_in_no_known_form" not in again.get("review", {})


def test_a_reports_totals_rows_are_set_aside_not_records(tmp_path):
    """A Kingdee-style shipments list ends with 合计 (GBK csv), a receipts workbook has a 小计
    row after each day and a `Total:` row at the end: each such row is quarantined as
    `summary_row` (not as a record missing its fields), every real row lands, the file
    reconciles with the independent count, and nothing of them reaches a missing-field check.
    A real record whose description is "合计" (every required field filled) still lands."""
    import openpyxl

    exports = tmp_path / "exports"
    (exports / "erp").mkdir(parents=True)
    (exports / "crm").mkdir()
    (exports / "erp" / "shipments_20250411.csv").write_bytes((
        "发货单号,行号,客户编码,收货省份,物料编码,批次,实发数量,出库日期\n"
        "XS-0411-01,1,C001,浙江,P0101,B25030301001,60,2025-04-11\n"
        "XS-0411-02,1,C002,广东,P0101,B25030301001,40,2025-04-11\n"
        "合计,,,,,,100,\n").encode("gbk"))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["入库单号", "行号", "物料编码", "供应商编码", "供应商批号", "物料批次", "数量",
               "单位", "入库日期"])
    ws.append(["RK-01", 1, "M-PCB1", "V-301", "HD-1", "ML-1", 300, "PCS", "2025-04-10"])
    ws.append(["小计：", None, None, None, None, None, 300, None, None])
    ws.append(["RK-02", 1, "M-PCB1", "V-301", "HD-2", "ML-2", 200, "PCS", "2025-04-11"])
    ws.append([None, None, None, None, None, None, 500, None, "Total:"])
    wb.save(exports / "erp" / "purchase_receipts_20250411.xlsx")
    (exports / "crm" / "complaints_20250411.csv").write_text(
        "客诉单号,渠道,受理时间,问题描述,状态\nK-1,APP,2025-04-11 10:00,合计,新建\n",
        encoding="utf-8")
    settings = get_settings(tmp_path / "home", exports)
    d = load_dictionary(overlays=[])
    for system, name in (("erp", "shipments"), ("erp", "purchase_receipts"),
                         ("crm", "complaints")):
        ingest_entity(settings, d, system, name)
    manifest = {r[0]: r[1:] for r in _q(settings, "select path, status, records_counted, "
                                                  "rows_read, rows_landed, rows_quarantined "
                                                  "from raw._file_manifest")}
    assert manifest == {"erp/shipments_20250411.csv": ("loaded", 3, 3, 2, 1),
                        "erp/purchase_receipts_20250411.xlsx": ("loaded", 4, 4, 2, 2),
                        "crm/complaints_20250411.csv": ("loaded", 1, 1, 1, 0)}
    q = _q(settings, "select source_file, source_row, reason_code, detail from raw._quarantine "
                     "order by 1, 2")
    assert [(f, n, r) for f, n, r, _ in q] == [
        ("erp/purchase_receipts_20250411.xlsx", 3, "summary_row"),
        ("erp/purchase_receipts_20250411.xlsx", 5, "summary_row"),
        ("erp/shipments_20250411.csv", 4, "summary_row")]
    assert "a totals row ('合计'; line_no, customer_code" in q[2][3]
    assert "('Total:';" in q[1][3]
    assert _q(settings, "select shipment_no from raw.erp__shipments order by 1") == [
        ("XS-0411-01",), ("XS-0411-02",)]
    assert _q(settings, "select description from raw.crm__complaints") == [("合计",)]
    # `dictionary suggest` skips them too: `Total:` in a date column is no placeholder to add
    from orchestration.lib.dictionary.suggest import build_patch, profile_exports

    patch = build_patch(profile_exports(exports, d), d, exports)
    assert "no_value_markers" not in patch
    assert "values_in_no_known_form" not in patch.get("review", {})


def test_a_plant_adds_its_own_totals_label_and_a_bad_list_is_named(tmp_path):
    """The overlay extends `summary_row_labels` (a plant's 汇总行); anything but a list of
    texts is an error naming the file and the key."""
    from orchestration.lib.dictionary.loader import DictionaryError
    from orchestration.lib.ingest.spec import find_spec, is_summary_row

    good = tmp_path / "good" / "plant.yml"
    good.parent.mkdir()
    good.write_text("summary_row_labels: [汇总行]\n", encoding="utf-8")
    spec = find_spec(load_dictionary(overlays=[good]), "erp", "shipments")
    assert is_summary_row({"shipment_no": "汇总行：", "qty": "100"}, spec)
    assert not is_summary_row({"shipment_no": "汇总行", **{f: "x" for f in spec.required}}, spec)
    bad = tmp_path / "bad" / "plant.yml"
    bad.parent.mkdir()
    bad.write_text("summary_row_labels: 合计\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match="plant.yml: summary_row_labels: expected a list"):
        load_dictionary(overlays=[bad])
