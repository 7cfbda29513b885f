"""One bad byte quarantines its row, not the file (issue 18 item 6): a byte that is not valid
GB18030 in a GBK export, a NUL byte in a UTF-8 export (and in a TSV), next to a malformed line
the CSV reader rejects. Every other row lands with `_source_row` = its line in the delivered
file, the quarantine names file, line and problem, and the ledger reconciles."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.lib.dictionary import load_dictionary
from orchestration.lib.ingest import ingest_entity
from orchestration.lib.reconcile import collect_file_counts, reconcile
from orchestration.lib.settings import get_settings

HEADER = "客诉单号,渠道,受理时间,问题描述,状态\n"


def lines(prefix: str, n: int, sep: str = ",") -> list[str]:
    return [sep.join([f"{prefix}{i:02d}", "微信", "2025-05-01 10:00", f"外壳开裂 {i}", "新建"])
            + "\n" for i in range(1, n + 1)]


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bytes")
    crm = tmp / "exports" / "crm"
    crm.mkdir(parents=True)
    # GBK file, line 4 (3rd data row) carries 0xFF, which no GB18030 sequence starts with
    gbk = [x.encode("gbk") for x in [HEADER, *lines("G", 6)]]
    gbk[3] = gbk[3].replace("外壳".encode("gbk"), b"\xff\xfe")
    (crm / "complaints_20250501.csv").write_bytes(b"".join(gbk))
    # UTF-8 file: a NUL byte on line 3, a row with a missing field on line 6 (the reader
    # rejects it), the rest fine
    utf = [HEADER, *lines("U", 7)]
    utf[2] = utf[2].replace("外壳", "外\x00壳")
    utf[5] = "U05,微信,2025-05-01 10:00\n"
    (crm / "complaints_20250502.csv").write_bytes("".join(utf).encode("utf-8"))
    # TSV with a NUL byte on its last line
    tsv = [HEADER.replace(",", "\t"), *lines("T", 3, "\t")]
    tsv[3] = tsv[3].replace("T03", "T\x0003")
    (crm / "complaints_20250503.tsv").write_bytes("".join(tsv).encode("utf-8"))
    s = get_settings(tmp / "home", tmp / "exports")
    ingest_entity(s, load_dictionary(overlays=[]), "crm", "complaints")
    con = duckdb.connect(str(s.warehouse), read_only=True)
    yield con
    con.close()


def rows_of(con, path):
    return dict(con.execute("select complaint_id, _source_row from raw.crm__complaints "
                            "where _source_file = ? order by _source_row", [path]).fetchall())


def quarantined(con, path):
    return con.execute("select source_row, reason_code, detail from raw._quarantine "
                       "where source_file = ? order by source_row", [path]).fetchall()


def test_a_bad_gb18030_byte_quarantines_its_row(landed):
    path = "crm/complaints_20250501.csv"
    assert rows_of(landed, path) == {"G01": 2, "G02": 3, "G04": 5, "G05": 6, "G06": 7}
    [(line, reason, detail)] = quarantined(landed, path)
    assert (line, reason) == (4, "encoding_error")
    assert f"{path} line 4" in detail and "GB18030" in detail and "ff" in detail


def test_a_nul_byte_quarantines_its_row_beside_a_malformed_one(landed):
    path = "crm/complaints_20250502.csv"
    assert rows_of(landed, path) == {"U01": 2, "U03": 4, "U04": 5, "U06": 7, "U07": 8}
    got = quarantined(landed, path)
    assert [(r[0], r[1]) for r in got] == [(3, "encoding_error"), (6, "malformed_row")]
    assert "NUL" in got[0][2]


def test_tsv_too(landed):
    path = "crm/complaints_20250503.tsv"
    assert rows_of(landed, path) == {"T01": 2, "T02": 3}
    assert [(r[0], r[1]) for r in quarantined(landed, path)] == [(4, "encoding_error")]


def test_the_ledger_reconciles(landed):
    manifest = {r[0]: r[1:] for r in landed.execute(
        "select path, status, records_counted, rows_read, rows_landed, rows_quarantined "
        "from raw._file_manifest").fetchall()}
    assert manifest["crm/complaints_20250501.csv"] == ("loaded", 6, 6, 5, 1)
    assert manifest["crm/complaints_20250502.csv"] == ("loaded", 7, 7, 5, 2)
    assert manifest["crm/complaints_20250503.tsv"] == ("loaded", 3, 3, 2, 1)
    assert reconcile(collect_file_counts(landed)) == []
