"""A correction wins (issue 18 item 2): a re-delivery named `<entity>_<date> (2).csv`, or with
the date in full-width digits, is ordered by the one file-name parser Python and SQL share, so
its values replace the first delivery's in staging and in the marts, after a real run."""

from __future__ import annotations

import shutil

import pytest

from tests.test_foreign_plant import FIXTURE, qualitrace, query

pytestmark = pytest.mark.integration


def test_the_corrected_values_win(tmp_path):
    exports, home = tmp_path / "exports", tmp_path / "home"
    shutil.copytree(FIXTURE, exports)
    mes = exports / "mes"
    original = (mes / "production_batches_20250304.csv").read_text(encoding="utf-8")
    assert ",118,115\n" in original
    # the same day's file again, output corrected 118 -> 128 (a copy suffix)
    (mes / "production_batches_20250304 (2).csv").write_text(
        original.replace(",118,115\n", ",128,125\n"), encoding="utf-8")
    # a later correction of another batch, its date in full-width digits
    second = original.replace(",80,78\n", ",90,88\n")
    (mes / "production_batches_２０２５０３０５.csv").write_text(second.replace(",118,115\n",
                                                                            ",128,125\n"),
                                                              encoding="utf-8")
    proc = qualitrace("run", "--home", str(home), "--exports", str(exports))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    got = dict(query(home, "select batch_code, units_produced from marts.batch_quality "
                           "where batch_code in ('20250303-L01-001', '20250303-L02-001')"))
    assert got == {"20250303-L01-001": 128, "20250303-L02-001": 90}, got  # canonical codes
    landed = {r[0] for r in query(home, "select path from governance.file_manifest "
                                        "where path like 'mes/production_batches%'")}
    assert {"mes/production_batches_20250304 (2).csv",
            "mes/production_batches_２０２５０３０５.csv"} <= landed
