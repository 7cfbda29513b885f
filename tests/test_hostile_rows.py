"""One odd row never blocks every mart (issue 18 item 11): a complaint whose status the
dictionary does not know (`重新打开`) and whose serial is mistyped (`SN-TYPO-0001`) flows on:
the run publishes, the complaint is in the marts with the spelling kept, the gap is listed, and
the delivery reconciles against the independent count."""

from __future__ import annotations

import shutil

import pytest

from tests.test_foreign_plant import FIXTURE, qualitrace, query

pytestmark = pytest.mark.integration


def test_an_unknown_status_and_a_typo_serial_do_not_block(tmp_path):
    exports, home = tmp_path / "exports", tmp_path / "home"
    shutil.copytree(FIXTURE, exports)
    (exports / "crm" / "complaints_20250312.csv").write_text(
        "complaint_id,channel,received_at,product_model,serial_no,description,status\n"
        "RO-1,微信,2025-03-12 09:00,AP-200,SN-TYPO-0001,又坏了 不开机,重新打开\n"
        "RO-2,APP,2025-03-12 10:00,AP-200,,外壳划痕,新建\n", encoding="utf-8")
    proc = qualitrace("run", "--home", str(home), "--exports", str(exports))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    trace = {r[0]: r[1:] for r in query(
        home, "select complaint_id, status, status_raw from marts.complaint_trace "
              "where complaint_id like 'RO-%'")}
    assert trace == {"RO-1": (None, "重新打开"), "RO-2": ("open", "新建")}
    gaps = {r[0] for r in query(home, "select value_seen from governance.dictionary_gaps "
                                      "where field like '%status%'")}
    assert "重新打开" in gaps
    manifest = query(home, "select records_counted, rows_read, rows_quarantined from "
                           "raw._file_manifest where path = 'crm/complaints_20250312.csv'")
    assert manifest == [(2, 2, 0)]
    staged = query(home, "select rows_read, rows_staged, rows_quarantined from "
                         "governance.file_manifest where path = 'crm/complaints_20250312.csv'")
    assert staged == [(2, 2, 0)]
