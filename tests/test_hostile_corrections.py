"""A correction wins (issue 18 item 2): a re-delivery named `<entity>_<date> (2).csv`, or with
the date in full-width digits, is ordered by the one file-name parser Python and SQL share, so
its values replace the first delivery's in the marts, after a real run (the hostile plant:
tests/support/hostile_plant.py)."""

from __future__ import annotations

import pytest

from tests.test_foreign_plant import query

pytestmark = pytest.mark.integration


def test_the_corrected_values_win(hostile_run):
    home = hostile_run.settings.home
    got = dict(query(home, "select batch_code, units_produced from marts.batch_quality "
                           "where batch_code in ('20250303-L01-001', '20250303-L02-001')"))
    assert got == {"20250303-L01-001": 128, "20250303-L02-001": 90}, got  # canonical codes
    landed = {r[0] for r in query(home, "select path from governance.file_manifest "
                                        "where path like 'mes/production_batches%'")}
    assert {"mes/production_batches_20250304 (2).csv",
            "mes/production_batches_２０２５０３０５.csv"} <= landed
