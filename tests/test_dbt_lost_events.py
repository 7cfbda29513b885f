"""A dbt test whose event never reached Dagster (its line of dbt's output spliced by another
writer) keeps its verdict: rebuilt from run_results.json with the configured severity."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.dbt.assets import recovered_check_results

MATERIALS = dg.AssetKey(["staging", "base_erp__materials"])


def _node(name: str, severity: str = "ERROR", kind: str = "test") -> dict:
    return {"name": name, "resource_type": kind, "config": {"severity": severity}}


NODES = {
    "test.qt.not_null_row": _node("not_null_row"),
    "test.qt.accepted_unit": _node("accepted_unit", "warn"),
    "test.qt.unique_key": _node("unique_key"),
    "model.qt.base_erp__materials": _node("base_erp__materials", kind="model"),
}
PLANNED = [dg.AssetCheckKey(MATERIALS, n) for n in ("not_null_row", "accepted_unit", "unique_key")]


def test_only_the_lost_verdicts_come_back_with_their_severity():
    results = [{"unique_id": "test.qt.not_null_row", "status": "pass", "failures": 0},
               {"unique_id": "test.qt.accepted_unit", "status": "warn", "failures": 3},
               {"unique_id": "test.qt.unique_key", "status": "fail", "failures": 2},
               {"unique_id": "model.qt.base_erp__materials", "status": "success"}]
    got = {r.check_name: r for r in recovered_check_results(PLANNED, {"not_null_row"}, results,
                                                            NODES)}
    assert set(got) == {"accepted_unit", "unique_key"}  # the received one is not repeated
    assert not got["accepted_unit"].passed
    assert got["accepted_unit"].severity == dg.AssetCheckSeverity.WARN
    assert not got["unique_key"].passed  # a failed ERROR is never lost: it blocks publishing
    assert got["unique_key"].severity == dg.AssetCheckSeverity.ERROR
    assert got["unique_key"].asset_key == MATERIALS
    assert got["unique_key"].metadata["recovered_from"].value == "run_results.json"


def test_nothing_when_every_event_arrived_or_dbt_skipped_the_test():
    results = [{"unique_id": "test.qt.not_null_row", "status": "pass"},
               {"unique_id": "test.qt.unique_key", "status": "skipped"},
               {"unique_id": "test.qt.unknown", "status": "fail"}]
    assert recovered_check_results(PLANNED, {"not_null_row"}, results, NODES) == []


def test_the_unchanged_models_events_go_out_in_slices_none_lost(monkeypatch):
    """The events of the models a partial build left out are handed to Dagster in time slices
    between dbt's events: every slice has at least one, none is lost or reordered."""
    from orchestration.defs.dbt import assets

    clock = iter(range(1000))
    monkeypatch.setattr(assets.time, "monotonic", lambda: next(clock) * 0.02)
    pending = iter(range(10))
    slices = [list(assets._for_a_while(pending, 0.05)) for _ in range(4)]
    assert [len(s) for s in slices] == [3, 3, 3, 1]  # 0.02 s per item, about 0.05 s a slice
    assert [x for s in slices for x in s] == list(range(10))
    assert list(assets._for_a_while(pending, 1.0)) == []
