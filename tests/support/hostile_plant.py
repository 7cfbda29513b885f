"""The hostile plant: the hand-written foreign plant with one hostile change per concern, so a
single pipeline run (the session fixture `hostile_run` in conftest.py) serves every test of
those concerns. Each change touches its own file or its own rows:

- numbers (test_hostile_numbers): `inf`, `-20` shipped, `NaN`, `1e400`, `265,5`, `Infinity`;
- corrections (test_hostile_corrections): `production_batches_20250304 (2).csv` and
  `production_batches_２０２５０３０５.csv` correcting two batches' output;
- odd rows (test_hostile_rows): a complaint with status 重新打开 and serial SN-TYPO-0001;
- personal data (test_pii_at_landing): a jsonl and an xlsx CRM file full of it;
- placeholder units (test_hostile_numbers): `-` and `N/A` where a unit belongs;
- delivery forms (test_hostile_rows): a `;`-separated GBK .csv ending with a 合计 row, a
  workbook whose first sheet
  is instructions and whose afternoon receipts are on a sheet of their own;
- clock forms (test_hostile_rows): times as a PLC, an SQL Server ERP and a Chinese CRM write
  them (`20250305200000`, `2025-03-07 10:00:00.000`, `2025/3/15 下午 3:05:00`, `16时20分`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FOREIGN_PLANT = Path(__file__).resolve().parents[1] / "fixtures" / "foreign_plant" / "exports"

NUMBER_ROWS = {
    "erp/shipments_20250305.csv": [
        "DN-0505,1,SO-92,K-1004,Jiangsu,P0101,B25030401001,inf,2025-03-06 10:00,顺丰,",
        "DN-0506,1,SO-93,K-1004,Jiangsu,P0101,B25030401001,-20,2025-03-06 11:00,顺丰,"],
    "mes/process_readings_20250304.csv": [
        "SMT-A1,2025-03-04 11:00,温度,NaN,℃", "SMT-A1,2025-03-04 12:00,温度,1e400,℃",
        "SMT-A1,2025-03-04 13:00,温度,\"265,5\",℃"],
    "erp/purchase_receipts_20250302.csv": [
        "GR250302-02,1,M-PCB1,V-301,HD2502-19,ML25030203,Infinity,PCS,2025/3/2 10:30"],
}


def append(path: Path, *lines: str, encoding: str = "utf-8") -> None:
    with path.open("a", encoding=encoding) as f:
        for line in lines:
            f.write(line + "\n")


def write_numbers(exports: Path) -> None:
    for rel, lines in NUMBER_ROWS.items():
        append(exports / rel, *lines)


def write_corrections(exports: Path) -> None:
    mes = exports / "mes"
    original = (mes / "production_batches_20250304.csv").read_text(encoding="utf-8")
    assert ",118,115\n" in original and ",80,78\n" in original
    # the same day's file again, output corrected 118 -> 128 (a copy suffix)
    (mes / "production_batches_20250304 (2).csv").write_text(
        original.replace(",118,115\n", ",128,125\n"), encoding="utf-8")
    # a later correction of another batch, its date in full-width digits
    (mes / "production_batches_２０２５０３０５.csv").write_text(
        original.replace(",80,78\n", ",90,88\n").replace(",118,115\n", ",128,125\n"),
        encoding="utf-8")


def write_odd_rows(exports: Path) -> None:
    (exports / "crm" / "complaints_20250312.csv").write_text(
        "complaint_id,channel,received_at,product_model,serial_no,description,status\n"
        "RO-1,微信,2025-03-12 09:00,AP-200,SN-TYPO-0001,又坏了 不开机,重新打开\n"
        "RO-2,APP,2025-03-12 10:00,AP-200,,外壳划痕,新建\n", encoding="utf-8")


def write_personal_data(exports: Path) -> None:
    lines = [
        {"complaint_id": "PII-1", "channel": "微信", "received_at": "2025-03-12 09:00",
         "customer_name": "Jane Doe", "customer_phone": "+86 137-0000-2222",
         "product_model": "AP-200", "description": "风扇异响，请回电 13600003333 或邮件 "
                                                   "jane.doe@example.org，身份证 11010519491231002X",
         "status": "新建", "Email": "jd2@example.net"},
        {"complaint_id": "PII-2", "channel": "APP", "received_at": "2025-03-12 10:00",
         "customer_name": "王小明", "customer_phone": "13511112222", "product_model": "AP-200",
         "description": "外壳有划痕 座机 021-6234-5678 wang.xm@qq.example.com", "status": "新建"},
    ]
    body = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines)
    body += '\n{"complaint_id": "PII-3", "customer_name": "李四海", "customer_phone": "1351111'
    (exports / "crm" / "complaints_20250313.jsonl").write_text(body + "\n", encoding="utf-8")
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["客诉单号", "渠道", "受理时间", "客户姓名", "联系电话", "产品型号", "问题描述", "状态"])
    ws.append(["PII-4", "门店", "2025-03-13 11:00", "李四海", "135 5555 6666", "AP-200",
               "不开机 身份证440301198807075513", "处理中"])
    ws.append([None, "门店", "2025-03-13 12:00", "赵六顺", "13344445555", "AP-200", "漏水",
               "新建"])  # no complaint id: quarantined with its personal data masked
    wb.save(exports / "crm" / "complaints_20250314.xlsx")


# A unit column holding a placeholder: no unit, not a unit spelling nobody knows. An optional
# unit of a concrete kind then means the kind's canonical unit (shipments: pcs); a required
# one is a missing required field.
PLACEHOLDER_UNIT_FILES = {
    "erp/shipments_20250306.csv": (
        "Delivery No,Line Number,SO No,Customer No,Ship-to Province,Product Code,Batch Number,"
        "Quantity,Unit,Ship Date\n"
        "DN-0601,1,SO-94,K-1004,Jiangsu,P0101,B25030401001,12,-,2025-03-06 14:00\n"
        "DN-0602,1,SO-95,K-1004,Jiangsu,P0101,B25030401001,3,N/A,2025-03-06 15:00\n"),
    "mes/material_consumption_20250306.csv": (
        "Batch,Part No,Material Lot,Qty,UoM\n"
        "20250304-L1-1,M-FLT1,ML25030202,2,-\n"),
}


def write_placeholder_units(exports: Path) -> None:
    for rel, text in PLACEHOLDER_UNIT_FILES.items():
        (exports / rel).write_text(text, encoding="utf-8")


def write_delivery_forms(exports: Path) -> None:
    # a European-Excel csv: `;` between fields, a decimal comma inside a quoted value is text
    (exports / "qms" / "inspections_20250306.csv").write_bytes(
        ("检验记录导出\n"
         "Inspection No;Inspection Type;Lot;Sample Size;Defects;Verdict;Inspected At\n"
         "QI-9101;IQC;ML25030201;32;0;OK;2025-03-06 09:00\n"
         "QI-9102;FQC;LOT#20250303/L1/1;20;2;NG;2025-03-06 10:30\n"
         "合计;;;52;2;;\n").encode("gbk"))  # the report's totals row
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "填写说明"
    wb.active.append(["本表由 ERP 导出，请勿修改表头"])
    wb.active.append(["入库单号", "每张入库单一行或多行"])
    data = wb.create_sheet("入库明细")
    data.append(["Receipt Number", "Line Number", "Part No", "Vendor Code", "Vendor Lot",
                 "Material Lot", "Quantity", "UoM", "Receipt Time"])
    data.append(["GR250306-01", 1, "M-PCB1", "V-301", "HD2503-01", "ML25030601", 300, "PCS",
                 "2025-03-06 08:00"])
    # the afternoon's receipts on a sheet of their own, columns in another order
    later = wb.create_sheet("入库明细(下午)")
    later.append(["Receipt Time", "Receipt Number", "Line Number", "Material Lot", "Part No",
                  "Vendor Code", "Vendor Lot", "Quantity", "UoM"])
    later.append(["2025-03-06 15:00", "GR250306-02", 1, "ML25030602", "M-PCB1", "V-301",
                  "HD2503-02", 200, "PCS"])
    wb.create_sheet("汇总").append(["合计", 500])
    wb.save(exports / "erp" / "purchase_receipts_20250306.xlsx")


# Times as other systems write them: a PLC's yyyyMMddHHmmss, an SQL Server ERP's milliseconds,
# a Chinese CRM's 12-hour clock and clock units, an offset after a space. Each value's plant
# local time is in CLOCK_FORMS_LOCAL (Asia/Shanghai: UTC+8).
CLOCK_FORM_FILES = {
    "mes/process_readings_20250306.csv": (
        "Machine ID,Timestamp,Parameter,Reading,Unit\n"
        "SMT-A1,20250305200000,温度,250.5,℃\n"
        "SMT-A1,20250305 210000,温度,251.0,℃\n"
        "SMT-A1,2025.03.05 22:00,温度,249.5,℃\n"),
    "erp/shipments_20250307.csv": (
        "Delivery No,Line Number,SO No,Customer No,Ship-to Province,Product Code,Batch Number,"
        "Quantity,Ship Date,Forwarder,Delivered At\n"
        "DN-0701,1,SO-96,K-1001,Zhejiang,P0101,B25030301001,5,2025-03-07 10:00:00.000,顺丰,"
        "2025-03-08 09:30:00.250\n"),
    "crm/complaints_20250315.csv": (
        "complaint_id,channel,received_at,product_model,description,status\n"
        "CT-1,微信,2025/3/15 下午 3:05:00,AP-200,风扇异响,新建\n"
        "CT-2,APP,2025年3月15日 16时20分,AP-200,外壳划痕,新建\n"
        "CT-3,email,2025-03-15 5:40 pm,AP-200,Loud fan noise,open\n"
        "CT-4,APP,2025-03-15 18:00:00 +0800,AP-200,不开机,新建\n"),
}
CLOCK_FORMS_LOCAL = {
    "readings": ["2025-03-05 20:00:00", "2025-03-05 21:00:00", "2025-03-05 22:00:00"],
    "DN-0701": ("2025-03-07 10:00:00", "2025-03-08 09:30:00.250"),
    "CT-1": "2025-03-15 15:05:00", "CT-2": "2025-03-15 16:20:00",
    "CT-3": "2025-03-15 17:40:00", "CT-4": "2025-03-15 18:00:00",
}


def write_clock_forms(exports: Path) -> None:
    for rel, text in CLOCK_FORM_FILES.items():
        (exports / rel).write_text(text, encoding="utf-8")


def build(exports: Path) -> Path:
    shutil.copytree(FOREIGN_PLANT, exports)
    write_numbers(exports)
    write_corrections(exports)
    write_odd_rows(exports)
    write_personal_data(exports)
    write_placeholder_units(exports)
    write_delivery_forms(exports)
    write_clock_forms(exports)
    return exports
