"""Numbers that cannot poison (issue 18 items 4, 10, 11): `inf`, `NaN`, `1e400` in a reading, a
shipment and a receipt quantity are quarantined per row as invalid_number (never a dbt crash,
never an excursion lost), a negative shipped quantity as negative_quantity, and `1,5` is a
decimal comma. On the hostile plant (tests/support/hostile_plant.py), one real run."""

from __future__ import annotations

import pytest

from tests.support.hostile_plant import NUMBER_ROWS, PLACEHOLDER_UNIT_FILES
from tests.test_foreign_plant import query

pytestmark = pytest.mark.integration


def test_non_finite_and_negative_numbers_are_quarantined_and_the_run_publishes(hostile_run):
    home = hostile_run.settings.home
    files = ", ".join(f"'{f}'" for f in NUMBER_ROWS)
    rejected = dict(query(home, "select source_file || ':' || source_row, reason_code "
                                f"from governance.quarantine where source_file in ({files})"))
    assert rejected == {"erp/shipments_20250305.csv:6": "invalid_number",
                        "erp/shipments_20250305.csv:7": "negative_quantity",
                        "mes/process_readings_20250304.csv:10": "invalid_number",
                        "mes/process_readings_20250304.csv:11": "invalid_number",
                        "erp/purchase_receipts_20250302.csv:4": "invalid_number"}
    # 265,5 is 265.5 degrees, an excursion above the 250 limit, not 2655
    assert (265.5,) in query(home, "select value from intermediate.int_readings_excursions")
    # every complaint of the plant is published (5 hand-written + 2 odd rows + 3 of the
    # personal-data files, the 4th of those is quarantined + 4 of the clock forms)
    assert query(home, "select count(*) from marts.complaint_trace") == [(14,)]


def test_a_placeholder_unit_is_no_unit_never_a_dictionary_gap(hostile_run):
    home = hostile_run.settings.home
    # optional unit of shipped quantities: `-` and `N/A` mean pieces, the canonical unit
    shipped = query(home, "select shipment_no, qty, unit, unit_is_known from staging.stg_erp__shipments "
                          "where shipment_no in ('DN-0601', 'DN-0602') order by 1")
    assert shipped == [("DN-0601", 12.0, None, False), ("DN-0602", 3.0, None, False)]
    gaps = query(home, "select field, value_seen from governance.dictionary_gaps "
                       "where value_seen in ('-', 'N/A')")
    assert gaps == []
    # a required unit holding one is missing: quarantined, the placeholder shown
    files = ", ".join(f"'{f}'" for f in PLACEHOLDER_UNIT_FILES)
    rejected = query(home, "select source_file || ':' || source_row, reason_code, detail "
                           f"from governance.quarantine where source_file in ({files})")
    assert rejected == [("mes/material_consumption_20250306.csv:2",
                         "missing_required_field", "missing_required_field:unit unit=- (no value)")]
