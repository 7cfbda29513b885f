"""The hold list: which suspects, which batches, and units that reconcile.

Fast: `build_hold_list` on hand-written frames. Integration: real dbt builds the marts of the
hand-made fixture plant (tests/test_marts_fixture_plant.py: a bad connector lot ML-BAD on
L01, machine E3 with excursions), some shipments signed for and some in transit; the loop
then lists the holds, and their units reconcile with marts.batch_quality and
marts.forward_trace; a new hold is posted to a real webhook as event_type `hold` once.
"""

from __future__ import annotations

import datetime as dt
import json
from unittest import mock

import duckdb
import pandas as pd
import pytest

from orchestration.lib.escalation.holds import build_hold_list, implicated_suspects
from orchestration.lib.escalation.rules import HoldPolicy
from tests.test_alerts_webhook import Hook

NOW = dt.datetime(2025, 3, 10, 9, 0)


def _ranking(**kw):
    row = {"problem_type_code": "QD08", "suspect_kind": "supplier_lot", "suspect_id": "LOT-7",
           "rank": 1, "lift": 8.0, "p_value": 1e-7, "q_value": 1e-6, "complaints_exposed": 9}
    return pd.DataFrame([{**row, **kw}])


def test_suspects_from_open_escalations_and_the_top_of_the_ranking():
    esc = pd.DataFrame([
        {"escalation_id": "material_cluster|QD04|equipment|OVEN-2", "rule": "material_cluster",
         "severity": "high", "summary": "6 QD04 complaints", "status": "open",
         "suspect_kind": "equipment", "suspect_id": "OVEN-2", "problem_type_code": "QD04"},
        {"escalation_id": "material_cluster|QD01|supplier|S9", "rule": "material_cluster",
         "severity": "high", "summary": "old", "status": "resolved",
         "suspect_kind": "supplier", "suspect_id": "S9", "problem_type_code": "QD01"},
        {"escalation_id": "safety_complaint|C1", "rule": "safety_complaint",
         "severity": "critical", "summary": "sf", "status": "open",
         "suspect_kind": None, "suspect_id": None, "problem_type_code": "SF01"}])
    ranking = pd.concat([_ranking(), _ranking(suspect_kind="line", suspect_id="L03"),
                         _ranking(suspect_id="LOT-8", q_value=0.2),
                         _ranking(suspect_id="LOT-9", lift=1.3)], ignore_index=True)
    s = implicated_suspects(esc, ranking, HoldPolicy())
    assert list(zip(s["suspect_kind"], s["suspect_id"])) == [("equipment", "OVEN-2"),
                                                             ("supplier_lot", "LOT-7")]
    assert s["reason"].iloc[0].startswith("escalation material_cluster [high]")
    assert s["reason"].iloc[1] == "rank 1 suspect for QD08 (lift 8.0x, 9 complaints)"


def test_units_split_into_stock_transit_and_field():
    suspects = implicated_suspects(None, _ranking(), HoldPolicy())
    forward = pd.DataFrame([
        {"suspect_kind": "supplier_lot", "suspect_id": "LOT-7", "batch_code": "B1",
         "shipment_no": "S1", "customer_code": "C1", "province_code": "440000",
         "units_at_risk": 300, "delivered_at": dt.datetime(2025, 3, 1)},
        {"suspect_kind": "supplier_lot", "suspect_id": "LOT-7", "batch_code": "B1",
         "shipment_no": "S2", "customer_code": "C2", "province_code": "110000",
         "units_at_risk": 200, "delivered_at": None},
        {"suspect_kind": "supplier_lot", "suspect_id": "LOT-7", "batch_code": "B2",
         "shipment_no": None, "customer_code": None, "province_code": None,
         "units_at_risk": 0, "delivered_at": None}])
    batches = pd.DataFrame([
        {"batch_code": "B1", "product_code": "P1", "line": "L01", "units_produced": 600,
         "units_shipped": 500},
        {"batch_code": "B2", "product_code": "P1", "line": "L01", "units_produced": 400,
         "units_shipped": 0}])
    prev = pd.DataFrame([{"hold_id": "supplier_lot|LOT-7|B1",
                          "first_seen": NOW - dt.timedelta(days=1)}])
    h = build_hold_list(suspects, forward, batches, prev, NOW).set_index("batch_code")
    assert h.loc["B1", ["units_in_stock", "units_in_transit", "units_in_field"]].tolist() == \
        [100, 200, 300]
    assert h.loc["B2", ["units_in_stock", "units_in_transit", "units_in_field"]].tolist() == \
        [400, 0, 0]
    assert h.loc["B1", "field_by_province"] == "440000 300"
    assert h.loc["B1", "material_lot"] == "LOT-7"
    assert h.loc["B1", "first_seen"] == NOW - dt.timedelta(days=1)
    assert h.loc["B2", "first_seen"] == NOW


# ---- integration: real dbt marts of the fixture plant -----------------------------------

def _plant_with_deliveries(original):
    tables = original()
    sh = tables["stg_erp__shipments"]
    # the first shipment of each batch was signed for two days after it left
    first = sh["shipment_no"].str.endswith("0")
    sh["delivered_at"] = sh["shipped_at"].where(first) + dt.timedelta(days=2)
    b = tables["int_batches_enriched"]
    b["units_produced"] = 1000 + 37 * (b.index % 5)  # some units still in stock
    return tables


def _reference_hold_list(suspects, forward, batches, previous, now) -> pd.DataFrame:
    """The hold list as first written: a loop over (suspect, batch) groups that filters the
    rows of each (quadratic at scale 10, which is why it was replaced; kept as the reference)."""
    from orchestration.lib.escalation.holds import COLUMNS, _int

    f = forward.merge(suspects[["suspect_kind", "suspect_id"]], on=["suspect_kind", "suspect_id"])
    f = f[(f["suspect_kind"] != "equipment") | f["had_excursion"].fillna(False).astype(bool)]
    f = f.assign(units_at_risk=pd.to_numeric(f["units_at_risk"], errors="coerce").fillna(0))
    shipped = f[f["shipment_no"].notna()]
    b = batches.set_index("batch_code")
    prev_first = dict(zip(previous["hold_id"], previous["first_seen"]))
    info = suspects.set_index(["suspect_kind", "suspect_id"])

    def breakdown(g, col):
        t = g[g[col].notna()].groupby(col)["units_at_risk"].sum()
        t = t[t > 0].sort_values(ascending=False, kind="stable")
        return "; ".join(f"{k} {int(v)}" for k, v in t.items()) or None

    rows = []
    for (kind, sid, batch), g in f.groupby(["suspect_kind", "suspect_id", "batch_code"],
                                           sort=True):
        sh = shipped[(shipped["suspect_kind"] == kind) & (shipped["suspect_id"] == sid)
                     & (shipped["batch_code"] == batch)]
        delivered = sh[sh["delivered_at"].notna()]
        produced = _int(b["units_produced"].get(batch)) if batch in b.index else None
        n_shipped = _int(b["units_shipped"].get(batch)) if batch in b.index else None
        hid = f"{kind}|{sid}|{batch}"
        why = info.loc[(kind, sid)]
        rows.append({
            "hold_id": hid, "suspect_kind": kind, "suspect_id": sid, "batch_code": batch,
            "material_lot": sid if kind == "supplier_lot" else None,
            "product_code": b["product_code"].get(batch) if batch in b.index else None,
            "line": b["line"].get(batch) if batch in b.index else None,
            "units_produced": produced, "units_shipped": n_shipped,
            "units_in_stock": None if produced is None else max(produced - (n_shipped or 0), 0),
            "units_in_transit": int(sh.loc[sh["delivered_at"].isna(), "units_at_risk"].sum()),
            "units_in_field": int(delivered["units_at_risk"].sum()),
            "field_by_province": breakdown(delivered, "province_code"),
            "field_by_customer": breakdown(delivered, "customer_code"),
            "problem_type_codes": why["problem_type_codes"], "escalations": why["escalations"],
            "reason": why["reason"], "first_seen": prev_first.get(hid, now), "last_seen": now,
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


@pytest.mark.parametrize("seed", range(12))
def test_hold_list_equals_the_per_group_reference(seed):
    """Random forward traces (shipped or not, delivered or not, missing provinces and
    customers, equal units, batches no suspect reaches, machines without an excursion, rows
    without a batch): the one-pass hold list equals the per-group loop row for row."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    kinds = rng.choice(["supplier_lot", "equipment", "shift"], n)
    sids = np.array([f"{k[:2]}-{i}" for k, i in zip(kinds, rng.integers(0, 4, n), strict=True)])
    pick = lambda values, p_none: [None if rng.random() < p_none else v
                                   for v in rng.choice(values, n)]
    forward = pd.DataFrame({
        "suspect_kind": kinds, "suspect_id": sids,
        "batch_code": pick([f"B{i}" for i in range(12)], 0.03),
        "shipment_no": pick([f"S{i}" for i in range(50)], 0.3),
        "customer_code": pick(["C1", "C2", "C3", "C4"], 0.1),
        "province_code": pick(["110000", "440000", "320000"], 0.2),
        "units_at_risk": rng.choice([0, 50, 100, 100, 250], n),
        "delivered_at": [None if rng.random() < 0.4 else dt.datetime(2025, 3, 1) for _ in range(n)],
        "had_excursion": rng.random(n) < 0.5,
    })
    ranking = pd.DataFrame([{"problem_type_code": "QD08", "suspect_kind": k, "suspect_id": s,
                             "rank": 1, "lift": 5.0, "p_value": 1e-6, "q_value": 1e-5,
                             "complaints_exposed": 4}
                            for k, s in sorted(set(zip(kinds, sids, strict=True)))
                            if rng.random() < 0.7])
    suspects = implicated_suspects(None, ranking, HoldPolicy(top_rank=1, kinds=(
        "supplier_lot", "equipment", "shift"))) if not ranking.empty else ranking
    if suspects.empty:
        return
    batches = pd.DataFrame([{"batch_code": f"B{i}", "product_code": f"P{i % 3}", "line": "L01",
                             "units_produced": int(rng.integers(0, 2000)),
                             "units_shipped": int(rng.integers(0, 2000))} for i in range(10)])
    previous = pd.DataFrame([{"hold_id": f"supplier_lot|su-1|B{i}",
                              "first_seen": NOW - dt.timedelta(days=i)} for i in range(6)])
    got = build_hold_list(suspects, forward, batches, previous, NOW)
    want = _reference_hold_list(suspects, forward, batches, previous, NOW)
    assert len(want) > 0 or len(got) == 0
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True),
                                  check_dtype=False)


@pytest.fixture(scope="module")
def looped(tmp_path_factory):
    from orchestration.lib.escalation.engine import close_the_loop
    from orchestration.lib.escalation.rules import load_rules
    from orchestration.lib.publish import publish_marts
    from orchestration.lib.settings import get_settings
    from tests import test_marts_fixture_plant as fp

    work = tmp_path_factory.mktemp("holds")
    settings = get_settings(work / "home", work / "exports").ensure()
    con = duckdb.connect(str(settings.warehouse))
    original = fp.plant_tables
    with mock.patch.object(fp, "plant_tables", lambda: _plant_with_deliveries(original)):
        fp.write_upstream(con)
    con.close()
    proc = fp.dbt_build_marts(settings.warehouse, work)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    publish_marts(settings)
    with Hook() as hook, mock.patch.dict("os.environ", {"QUALITRACE_ALERT_BACKOFF": "0.01"}):
        first = close_the_loop(settings, load_rules(), now=NOW, webhook=hook.url)
        second = close_the_loop(settings, load_rules(), now=NOW + dt.timedelta(hours=1),
                                webhook=hook.url)
    yield settings, first, second, hook.received



@pytest.mark.integration
def test_the_planted_suspects_are_held(looped):
    _settings, first, _second, _events = looped
    held = set(zip(first.holds["suspect_kind"], first.holds["suspect_id"]))
    assert ("supplier_lot", "ML-BAD") in held
    assert ("equipment", "E3") in held
    e3 = first.holds[first.holds["suspect_id"] == "E3"]
    assert len(e3) == 4  # only the L02 batches with an E3 excursion, not the whole line


@pytest.mark.integration
def test_hold_units_reconcile_with_batch_quality_and_forward_trace(looped):
    settings, first, _second, _events = looped
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        bad = con.execute("""
            select h.hold_id, h.units_in_stock, h.units_in_transit, h.units_in_field,
                   b.units_produced, b.units_shipped, f.transit, f.field
            from marts.hold_list as h
            join marts.batch_quality as b on b.batch_code = h.batch_code
            join (select suspect_kind, suspect_id, batch_code,
                         sum(case when shipment_no is not null and delivered_at is null
                                  then units_at_risk else 0 end) as transit,
                         sum(case when delivered_at is not null then units_at_risk else 0 end)
                             as field
                  from marts.forward_trace group by 1, 2, 3) as f
              on f.suspect_kind = h.suspect_kind and f.suspect_id = h.suspect_id
             and f.batch_code = h.batch_code
            where h.units_in_stock <> b.units_produced - b.units_shipped
               or h.units_in_transit + h.units_in_field <> b.units_shipped
               or h.units_in_transit <> f.transit or h.units_in_field <> f.field
        """).fetchall()
        n, transit, field = con.execute(
            "select count(*), sum(units_in_transit), sum(units_in_field) from marts.hold_list"
        ).fetchone()
    finally:
        con.close()
    assert bad == []
    assert n == len(first.holds) and transit > 0 and field > 0


@pytest.mark.integration
def test_a_new_hold_is_posted_once_as_its_own_event(looped):
    settings, first, second, events = looped
    holds = [e for e in events if e.get("event_type") == "hold"]
    # every line of alerts.jsonl is one delivery with its own dedup key, holds included
    lines = [json.loads(x) for x in settings.alerts_file.read_text(encoding="utf-8").splitlines()
             if x]
    keys = [x.get("dedup_key") for x in lines]
    assert all(keys) and len(keys) == len(set(keys)), keys
    assert {f"hold|{h}" for h in first.holds["hold_id"]} <= set(keys)
    assert len(holds) == len(first.new_holds) == len(first.holds) > 0
    assert second.new_holds == []  # the same holds next run: nothing posted again
    assert {e["hold_id"] for e in holds} == set(first.holds["hold_id"])
    assert all(e["reason"] for e in holds)
