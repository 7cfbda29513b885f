"""The tests read the published contract from DESIGN.md itself (tests/support/contract.py)."""

from orchestration.lib.publish import MARTS
from tests.support.contract import published_contract, required_columns


def test_every_published_mart_has_its_contract_columns_read():
    contract = published_contract()
    assert {f"marts.{m}" for m in MARTS} <= contract.keys()
    assert all(len(contract[f"marts.{m}"]) >= 5 for m in MARTS), contract
    assert contract["governance.check_results"][:3] == ["run_id", "checked_at", "check_name"]


def test_values_and_remarks_are_not_columns():
    cell = ("`status` (`open`, `closed`), `suspect_id` (material lot, `L02`), `rank` "
            "(1 = strongest); a combined suspect has `suspect_kind` like `line+shift`")
    assert required_columns(cell) == ["status", "suspect_id", "rank"]
