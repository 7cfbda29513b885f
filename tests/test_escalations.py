"""Escalation rules (data_dictionary/escalations.yml): validation, every shipped rule on a
hand-written fixture that fires it and one that does not, and the loop over a real (tiny,
hand-made) warehouse: marts.escalations and alerts de-duplicated across runs, resolved when
the condition clears, delivered to a real webhook."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb
import pandas as pd
import pytest

from orchestration.lib.escalation import EscalationRulesError, load_rules
from orchestration.lib.escalation.evaluate import evaluate, repeat_flags
from orchestration.lib.escalation.rules import parse_rules
from orchestration.lib.settings import get_settings
from tests.test_alerts_webhook import Hook

NOW = datetime(2025, 3, 10, 9, 0)
T0 = datetime(2025, 3, 9, 18, 30)  # the latest complaint of the fixtures (as_of)


@pytest.fixture(scope="module")
def shipped():
    return load_rules()


def rule_only(cfg, name):
    """The shipped config with one rule, so a fixture proves that rule alone."""
    from dataclasses import replace

    return replace(cfg, rules=tuple(r for r in cfg.rules if r.name == name))


def complaints(*rows) -> pd.DataFrame:
    base = {"status": "open", "region": "East China", "province_code": "JS",
            "product_model": "AC-9000", "product_code": "P-AC9000-W",
            "problem_type_code": "QD02", "problem_category": "QD", "severity": 4,
            "batch_code": None, "customer_key": None, "material_lots": None,
            "supplier_codes": None, "excursion_equipment_ids": None}
    return pd.DataFrame([{**base, **r} for r in rows])


def at(hours_before: float) -> datetime:
    return T0 - timedelta(hours=hours_before)


def fired(cfg, c, trend=None, ranking=None):
    trend = pd.DataFrame() if trend is None else trend
    ranking = pd.DataFrame() if ranking is None else ranking
    return evaluate(cfg, c, trend, ranking, NOW)


# ---- the rules file ---------------------------------------------------------------------

def test_shipped_rules_cover_every_kind(shipped):
    assert {r.kind for r in shipped.rules} == {"safety_category", "severity_burst",
                                                "repeat_rate", "region_spike",
                                                "cluster_on_suspect"}
    assert all(r.recipients for r in shipped.rules)


def test_bad_rules_name_file_and_key(tmp_path):
    p = tmp_path / "escalations.yml"
    p.write_text(
        "rules:\n"
        "  - {name: burst, kind: severity_burts, window: 1d, severity: high, recipients: [qm]}\n"
        "  - {name: spike, kind: region_spike, window: 3 days, severity: urgent, recipients: []}\n"
        "  - {name: rep, kind: repeat_rate, window: 30d, severity: low, recipients: [qm],\n"
        "     params: {max_rate: 15, per: colour, lookback: 90}}\n"
        "  - {name: rep, kind: safety_category, window: 1h, severity: low, recipients: [qm]}\n"
        "holds: {top_rank: 0}\n", encoding="utf-8")
    with pytest.raises(EscalationRulesError) as e:
        load_rules(p)
    text = str(e.value)
    for expected in ("rules[0].kind: 'severity_burts' is not one of",
                     "rules[1].window:", "rules[1].severity: 'urgent'",
                     "rules[1].recipients", "rules[2].params.max_rate: 15 is not a rate",
                     "rules[2].params.per: 'colour'", "rules[2].params.lookback: unknown",
                     "rules[3].name: duplicate rule name 'rep'", "holds.top_rank"):
        assert expected in text, text
    assert all(line.strip().startswith(str(p)) for line in e.value.problems)


def test_unreadable_and_non_yaml_files(tmp_path):
    with pytest.raises(EscalationRulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yml")
    (tmp_path / "x.yml").write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(EscalationRulesError, match="not valid YAML"):
        load_rules(tmp_path / "x.yml")
    with pytest.raises(EscalationRulesError, match="rules: expected a non-empty list"):
        parse_rules({"rules": []}, "inline")


# ---- safety_category ----------------------------------------------------------------------

def test_safety_complaint_fires_on_an_open_sf_complaint(shipped):
    cfg = rule_only(shipped, "safety_complaint")
    c = complaints({"complaint_id": "KS-24-0117", "received_at": at(2),
                    "problem_type_code": "SF03", "problem_category": "SF", "severity": 9},
                   {"complaint_id": "KS-24-0118", "received_at": at(0)})
    out = fired(cfg, c)
    assert [f.escalation_key for f in out] == ["KS-24-0117"]
    assert out[0].severity == "critical" and out[0].evidence["problem_type_code"] == "SF03"


def test_safety_complaint_silent_when_closed_or_not_safety(shipped):
    cfg = rule_only(shipped, "safety_complaint")
    c = complaints({"complaint_id": "KS-24-0117", "received_at": at(2), "status": "closed",
                    "problem_type_code": "SF03", "problem_category": "SF"},
                   {"complaint_id": "KS-24-0118", "received_at": at(0),
                    "problem_type_code": "FN01", "problem_category": "FN", "severity": 9},
                   {"complaint_id": "KS-23-0999", "received_at": at(24 * 60),  # outside 30d
                    "problem_type_code": "SF01", "problem_category": "SF"})
    assert fired(cfg, c) == []


# ---- severity_burst ---------------------------------------------------------------------

def test_severity_burst_fires_on_three_severe_complaints_in_a_day(shipped):
    cfg = rule_only(shipped, "severity_burst")
    c = complaints(*[{"complaint_id": f"TS{i}", "received_at": at(i * 5), "severity": s,
                      "product_model": "WM-7KG"} for i, s in enumerate((8, 10, 9))],
                   {"complaint_id": "TS9", "received_at": at(1), "severity": 9,
                    "product_model": "AC-9000"})
    out = fired(cfg, c)
    assert [(f.escalation_key, f.complaints) for f in out] == [("WM-7KG", 3)]
    assert out[0].evidence["max_severity"] == 10


def test_severity_burst_silent_when_spread_or_mild(shipped):
    cfg = rule_only(shipped, "severity_burst")
    c = complaints({"complaint_id": "A1", "received_at": at(0), "severity": 9},
                   {"complaint_id": "A2", "received_at": at(3), "severity": 8},
                   {"complaint_id": "A3", "received_at": at(30), "severity": 10},  # a day+ ago
                   {"complaint_id": "A4", "received_at": at(4), "severity": 7},
                   {"complaint_id": "A5", "received_at": at(5), "severity": None})
    assert fired(cfg, c) == []


# ---- repeat_rate ------------------------------------------------------------------------

def _repeat_fixture(repeats: int, total: int = 20) -> pd.DataFrame:
    rows = []
    for i in range(total):
        rows.append({"complaint_id": f"R{i:03d}", "received_at": at(24 * (i % 25)),
                     "customer_key": f"ck{i:03d}", "product_model": "RF-450L"})
    for i in range(repeats):  # the same customer came back about the same model 40 days ago
        rows.append({"complaint_id": f"P{i:03d}", "received_at": at(24 * 40),
                     "customer_key": f"ck{i:03d}", "product_model": "RF-450L"})
    return complaints(*rows)


def test_repeat_rate_fires_above_fifteen_percent(shipped):
    cfg = rule_only(shipped, "repeat_complaints")
    out = fired(cfg, _repeat_fixture(repeats=4))  # 4 of 20 in the window = 20%
    assert [(f.escalation_key, f.evidence["repeats"], f.evidence["complaints"]) for f in out] \
        == [("RF-450L", 4, 20)]


def test_repeat_rate_silent_at_or_below_fifteen_percent(shipped):
    cfg = rule_only(shipped, "repeat_complaints")
    assert fired(cfg, _repeat_fixture(repeats=3)) == []  # 3 of 20 = 15%: not above


def test_repeat_flags_need_same_customer_and_model_or_batch_within_lookback():
    c = complaints(
        {"complaint_id": "A", "received_at": at(24 * 100), "customer_key": "k1"},
        {"complaint_id": "B", "received_at": at(0), "customer_key": "k1"},        # 100d: no
        {"complaint_id": "C", "received_at": at(24 * 10), "customer_key": "k2",
         "product_model": "X1", "batch_code": "B7"},
        {"complaint_id": "D", "received_at": at(0), "customer_key": "k2",
         "product_model": "X2", "batch_code": "B7"},                                # same batch
        {"complaint_id": "E", "received_at": at(5), "customer_key": None},
        {"complaint_id": "F", "received_at": at(1), "customer_key": None})
    c["received_at"] = pd.to_datetime(c["received_at"])
    flags = dict(zip(c["complaint_id"], repeat_flags(c, 90, "product_model")))
    assert flags == {"A": False, "B": False, "C": False, "D": True, "E": False, "F": False}


# ---- region_spike -------------------------------------------------------------------------

def _trend(spike: bool, week: str) -> pd.DataFrame:
    return pd.DataFrame([
        {"week": pd.Timestamp(week), "dimension": "region", "value": "South China",
         "complaints": 14, "expected_complaints": 3.9, "is_spike": spike},
        {"week": pd.Timestamp(week), "dimension": "product_model", "value": "AC-9000",
         "complaints": 40, "expected_complaints": 5.0, "is_spike": True},
    ])


def test_region_spike_fires_on_a_spike_week_in_the_window(shipped):
    cfg = rule_only(shipped, "region_spike")
    c = complaints({"complaint_id": "Z1", "received_at": at(0)})
    out = fired(cfg, c, trend=_trend(True, "2025-03-03"))
    assert [f.escalation_key for f in out] == ["South China"]
    assert out[0].evidence["spike_weeks"] == ["2025-03-03"]


def test_region_spike_silent_without_spike_or_outside_window(shipped):
    cfg = rule_only(shipped, "region_spike")
    c = complaints({"complaint_id": "Z1", "received_at": at(0)})
    assert fired(cfg, c, trend=_trend(False, "2025-03-03")) == []
    assert fired(cfg, c, trend=_trend(True, "2025-01-06")) == []  # two months ago


# ---- cluster_on_suspect -------------------------------------------------------------------

def _ranking(rank: int) -> pd.DataFrame:
    return pd.DataFrame([{"problem_type_code": "FN04", "suspect_kind": "supplier_lot",
                          "suspect_id": "ML2502030007", "rank": rank, "lift": 6.2,
                          "p_value": 1e-9, "q_value": 1e-8}])


def _cluster_complaints(n: int) -> pd.DataFrame:
    return complaints(*[{"complaint_id": f"Q{i}", "received_at": at(24 * i),
                         "problem_type_code": "FN04", "problem_category": "FN",
                         "batch_code": f"B2502{i:02d}",
                         "material_lots": f"ML2501110002, ML2502030007,ML25020{i}0001"}
                        for i in range(n)])


def test_cluster_on_suspect_fires_on_five_complaints_sharing_a_ranked_lot(shipped):
    cfg = rule_only(shipped, "material_cluster")
    out = fired(cfg, _cluster_complaints(5), ranking=_ranking(1))
    assert [f.escalation_key for f in out] == ["FN04|supplier_lot|ML2502030007"]
    f = out[0]
    assert (f.suspect_kind, f.suspect_id, f.complaints) == ("supplier_lot", "ML2502030007", 5)
    assert len(f.evidence["batch_codes"]) == 5


def test_cluster_on_suspect_silent_below_support_or_rank(shipped):
    cfg = rule_only(shipped, "material_cluster")
    assert fired(cfg, _cluster_complaints(4), ranking=_ranking(1)) == []
    assert fired(cfg, _cluster_complaints(6), ranking=_ranking(7)) == []  # not near the top


# ---- the loop over a warehouse: store, dedup, resolve, deliver --------------------------

@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("QUALITRACE_ALERT_BACKOFF", "0.01")
    monkeypatch.delenv("QUALITRACE_ALERT_WEBHOOK", raising=False)
    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    return s


def _publish(settings, c: pd.DataFrame):
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute("create schema if not exists marts")
        con.register("c", c)
        con.execute("create or replace table marts.complaint_trace as select * from c")
        con.execute("create or replace table marts.complaint_trend as select "
                    "date '2025-03-03' as week, 'region' as dimension, 'x' as value, "
                    "1 as complaints, 1.0 as expected_complaints, false as is_spike")
        con.execute("create or replace table marts.suspect_ranking as select "
                    "'QD02' as problem_type_code, 'line' as suspect_kind, 'L01' as suspect_id, "
                    "1 as rank, 1.0 as lift, 0.5 as p_value")
    finally:
        con.close()


def test_loop_dedups_across_runs_resolves_and_delivers(home, shipped):
    from orchestration.lib.escalation.engine import close_the_loop

    cfg = rule_only(shipped, "safety_complaint")
    sf = {"complaint_id": "KS-24-0117", "received_at": at(2), "problem_type_code": "SF02",
          "problem_category": "SF", "severity": 9}
    other = {"complaint_id": "KS-24-0118", "received_at": at(0)}
    with Hook() as hook:
        _publish(home, complaints(sf, other))
        first = close_the_loop(home, cfg, now=NOW, webhook=hook.url)
        second = close_the_loop(home, cfg, now=NOW + timedelta(hours=1), webhook=hook.url)
        _publish(home, complaints({**sf, "status": "closed"}, other))  # the condition clears
        third = close_the_loop(home, cfg, now=NOW + timedelta(hours=2), webhook=hook.url)
        _publish(home, complaints(sf, other))  # re-opened in the CRM
        fourth = close_the_loop(home, cfg, now=NOW + timedelta(hours=3), webhook=hook.url)
    assert (len(first.opened), first.alerts_delivered) == (1, 1)
    assert (len(second.opened), second.alerts_delivered) == (0, 0)
    assert (len(third.resolved), third.open_count) == (1, 0)
    assert (len(fourth.opened), fourth.alerts_delivered) == (1, 1)
    payloads = hook.received
    assert [p["event"] for p in payloads] == ["new", "reopened"]
    assert payloads[0]["event_type"] == "escalation"
    assert payloads[0]["rule"] == "safety_complaint"
    assert payloads[0]["recipients"] == ["quality-manager", "product-safety-officer"]
    assert json.loads(payloads[0]["evidence"])["complaint_ids"] == ["KS-24-0117"]

    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        row = con.execute("select status, first_seen, last_seen, times_opened, resolved_at "
                          "from marts.escalations").fetchall()
        alert = con.execute("select occurrences, resolved_at from governance.alerts "
                            "where check_name like 'escalation:%'").fetchall()
        rules = con.execute("select rule, kind, window_hours from dictionary.escalation_rules"
                            ).fetchall()
    finally:
        con.close()
    assert row == [("open", NOW, NOW + timedelta(hours=3), 2, None)]
    assert alert == [(3, None)]  # open again; three runs saw it
    assert rules == [("safety_complaint", "safety_category", 720.0)]
    assert (home.parquet_dir / "escalations.parquet").exists()
    lines = [json.loads(x) for x in home.alerts_file.read_text(encoding="utf-8").splitlines()]
    assert [x["escalation_key"] for x in lines] == ["KS-24-0117", "KS-24-0117"]


def test_loop_on_a_warehouse_without_marts_writes_an_empty_table(home, shipped):
    from orchestration.lib.escalation.engine import close_the_loop

    result = close_the_loop(home, shipped, now=NOW)
    assert result.escalations.empty and result.alerts_delivered == 0
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from marts.escalations").fetchone() == (0,)
    finally:
        con.close()
