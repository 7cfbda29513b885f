"""Personal data never in clear after landing (issue 18 item 7, issue 15): a malformed row's
raw record in the quarantine, phones / ID numbers / e-mails typed into free text."""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.dictionary.testing import ConformRunner
from orchestration.lib.ingest import ingest_entity
from orchestration.lib.pii import mask_text, mask_value
from orchestration.lib.reconcile import collect_file_counts, reconcile
from orchestration.lib.settings import get_settings

TEXTS = [
    ("请回电 13912345678 谢谢", "请回电 139****5678 谢谢"),
    ("电话:+86 139-1234-5678", "电话:+86 139****5678"),
    ("身份证 11010519491231002X 已登记", "身份证 110105************ 已登记"),
    ("mail me at li.lei+qa@example.com.cn", "mail me at ***@example.com.cn"),
    ("call +1 555 010 4477 after 5pm", "call +1 **** 4477 after 5pm"),
    ("座机 010-62345678", "座机 010-****5678"),
    ("座机 021-6234-5678 或 0755 8888 1234", "座机 021-****5678 或 0755-****1234"),
    # not personal data: dates, batch codes, serials, amounts stay as they are
    ("2025-03-10 09:12 批号 20250303-L01-001 SNP000700012345 退款 5999 元",
     "2025-03-10 09:12 批号 20250303-L01-001 SNP000700012345 退款 5999 元"),
]


@pytest.mark.parametrize("text, masked", TEXTS)
def test_mask_text(text, masked):
    assert mask_text(text) == masked


def test_mask_value():
    assert mask_value("customer_phone", "+86 139 1234 5678") == "861****5678"
    assert mask_value("customer_name", "王小明") == "***"
    assert mask_value("customer_name", "  ") == "  "


def test_sql_macro_masks_like_python():
    runner = ConformRunner()
    got = runner.run("conform", [(t,) for t, _ in TEXTS], ["pii_masked"])
    assert [g["pii_masked"] for g in got] == [m for _, m in TEXTS]


def test_quarantined_rows_keep_no_clear_name_or_phone(tmp_path):
    root = tmp_path / "exports"
    (root / "crm").mkdir(parents=True)
    header = "complaint_id,channel,received_at,customer_name,customer_phone,description,status\n"
    (root / "crm" / "complaints_20250601.csv").write_text(
        header
        + "C1,微信,2025-06-01 10:00,张三丰,13800138000,屏幕有划痕,新建\n"
        + "C2,微信,2025-06-01 11:00,李四光,13911112222,不开机,新建,多出来的一列,再一列\n",
        encoding="utf-8")
    (root / "crm" / "complaints_20250602.jsonl").write_text(
        json.dumps({"complaint_id": "C3", "channel": "APP", "received_at": "2025-06-02 09:00",
                    "customer_name": "王五", "customer_phone": "13733334444",
                    "description": "漏水", "status": "open"}, ensure_ascii=False) + "\n"
        + '{"complaint_id": "C4", "customer_name": "赵六", "customer_phone": "13655556666", \n',
        encoding="utf-8")
    settings = get_settings(tmp_path / "home", root)
    s = ingest_entity(settings, load_dictionary(overlays=[]), "crm", "complaints")
    assert s.rows_quarantined == 2
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute("select source_file, source_row, reason_code, detail, raw_record "
                           "from raw._quarantine order by 1, 2").fetchall()
        assert reconcile(collect_file_counts(con)) == []  # the ledger agrees on both files
        landed = con.execute("select customer_name, customer_phone from raw.crm__complaints "
                             "order by complaint_id").fetchall()
    finally:
        con.close()
    stored = json.dumps([rows, landed], ensure_ascii=False, default=str)
    for clear in ("李四光", "13911112222", "赵六", "13655556666", "张三丰", "13800138000", "王五",
                  "13733334444"):
        assert clear not in stored, clear
    assert "139****2222" in stored and "136****6666" in stored
    assert [r[:3] for r in rows] == [("crm/complaints_20250601.csv", 3, "malformed_row"),
                                     ("crm/complaints_20250602.jsonl", 2, "malformed_row")]


def test_numbers_that_cannot_poison():
    """inf / NaN / 1e400 are no numbers (rejected as invalid_number, never a crash or an
    excursion lost); 1,5 is a decimal comma, 1,500 a thousands separator; 1.234,5 groups
    thousands with dots before a decimal comma (1.234 alone stays a decimal: it is both)."""
    runner = ConformRunner()
    cases = [("inf", None), ("-Infinity", None), ("NaN", None), ("1e400", None),
             ("1,5", 1.5), ("12,50", 12.5), ("1,500", 1500.0), ("1,500.25", 1500.25),
             ("１２０", 120.0), (" 2.5 ", 2.5), ("1e3", 1000.0), ("-3", -3.0), ("abc", None),
             # a European export: dots group thousands before a decimal comma
             ("1.234,5", 1234.5), ("-12.345.678,25", -12345678.25), ("1 234,5", 1234.5),
             ("1.234", 1.234), ("1.2345,6", None)]
    got = runner.run("conform", [(v,) for v, _ in cases], ["number"])
    assert [g["number"] for g in got] == [want for _, want in cases]


def test_implausible_record_times_are_no_times():
    """1900, 1970 (epoch 0) and 2999 are no plausible complaint or production times: staging
    rejects them (invalid_timestamp) instead of keeping a wrong time."""
    import datetime as dt

    runner = ConformRunner()
    values = ["1900-01-01 00:00:00", "1970-01-01 00:00:00", "2999-12-31 10:00:00",
              "2024-03-15 14:02:11", f"{dt.date.today().year + 1}-01-01 08:00:00"]
    got = [r["ts_plausible"] for r in runner.run("conform", [(v,) for v in values],
                                                ["ts_plausible"])]
    assert got[:3] == [None, None, None]
    assert got[3] is not None and got[4] is not None
