"""Numbers that cannot poison (issue 18 item 4, 10, 11): `inf`, `NaN`, `1e400` in a reading, a
shipment and a receipt quantity are quarantined per row as invalid_number (never a dbt crash,
never an excursion lost), a negative shipped quantity as negative_quantity, and `1,5` is a
decimal comma. Runs the real pipeline on the
hand-written foreign plant with those rows appended."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.test_foreign_plant import FIXTURE, qualitrace, query

pytestmark = pytest.mark.integration


def append(path: Path, *lines: str, encoding: str = "utf-8") -> None:
    with path.open("a", encoding=encoding) as f:
        for line in lines:
            f.write(line + "\n")


def test_non_finite_numbers_are_quarantined_and_the_run_publishes(tmp_path):
    exports, home = tmp_path / "exports", tmp_path / "home"
    shutil.copytree(FIXTURE, exports)
    append(exports / "erp" / "shipments_20250305.csv",
           "DN-0505,1,SO-92,K-1004,Jiangsu,P0101,B25030401001,inf,2025-03-06 10:00,顺丰",
           "DN-0506,1,SO-93,K-1004,Jiangsu,P0101,B25030401001,-20,2025-03-06 11:00,顺丰")
    append(exports / "mes" / "process_readings_20250304.csv",
           "SMT-A1,2025-03-04 11:00,温度,NaN,℃", "SMT-A1,2025-03-04 12:00,温度,1e400,℃",
           "SMT-A1,2025-03-04 13:00,温度,\"265,5\",℃")
    append(exports / "erp" / "purchase_receipts_20250302.csv",
           "GR250302-02,1,M-PCB1,V-301,HD2502-19,ML25030203,Infinity,PCS,2025/3/2 10:30")
    proc = qualitrace("run", "--home", str(home), "--exports", str(exports))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    rejected = dict(query(home, "select source_file || ':' || source_row, reason_code "
                                "from governance.quarantine"))
    assert rejected == {"erp/shipments_20250305.csv:6": "invalid_number",
                        "erp/shipments_20250305.csv:7": "negative_quantity",
                        "mes/process_readings_20250304.csv:8": "invalid_number",
                        "mes/process_readings_20250304.csv:9": "invalid_number",
                        "erp/purchase_receipts_20250302.csv:4": "invalid_number"}
    # 265,5 is 265.5 degrees, an excursion above the 250 limit, not 2655
    assert (265.5,) in query(home, "select value from intermediate.int_readings_excursions")
    assert query(home, "select count(*) from marts.complaint_trace") == [(5,)]
