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
