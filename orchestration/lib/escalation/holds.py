"""`marts.hold_list`: what to hold, where the units are, and why.

The suspects: every open escalation that names one (rule kind cluster_on_suspect), and the
top of `marts.suspect_ranking` (policy in escalations.yml `holds:`: rank <= top_rank,
q_value <= max_q_value, lift >= min_lift, suspect kinds a batch list exists for). For each,
the batches `marts.forward_trace` links to it (a machine: only the batches with an
excursion on it), one row per (suspect, batch):
  units_in_stock   = units produced - units shipped (batch_quality), never below 0;
  units_in_transit = units on shipments not yet signed for (forward_trace.delivered_at NULL);
  units_in_field   = units on delivered shipments, also per province and customer.
units_in_transit + units_in_field = batch_quality.units_shipped for every batch shipped.
Pure: `build_hold_list` takes DataFrames; the engine reads and writes the warehouse.
"""

from __future__ import annotations

import itertools
from datetime import datetime

import pandas as pd

from orchestration.lib.escalation.rules import HoldPolicy

COLUMNS = {
    "hold_id": "VARCHAR",            # suspect_kind|suspect_id|batch_code (primary key)
    "suspect_kind": "VARCHAR",
    "suspect_id": "VARCHAR",
    "batch_code": "VARCHAR",
    "material_lot": "VARCHAR",       # the lot to hold too (supplier_lot suspects)
    "product_code": "VARCHAR",
    "line": "VARCHAR",
    "units_produced": "BIGINT",
    "units_shipped": "BIGINT",
    "units_in_stock": "BIGINT",
    "units_in_transit": "BIGINT",
    "units_in_field": "BIGINT",
    "field_by_province": "VARCHAR",  # 'GD 1200; JS 300', largest first
    "field_by_customer": "VARCHAR",  # customer codes (business ids, not personal data)
    "problem_type_codes": "VARCHAR",
    "escalations": "VARCHAR",        # rule|key of the open escalations naming the suspect
    "reason": "VARCHAR",
    "first_seen": "TIMESTAMP",       # UTC, the run that first listed the hold
    "last_seen": "TIMESTAMP",
}


def implicated_suspects(escalations: pd.DataFrame | None, ranking: pd.DataFrame | None,
                        policy: HoldPolicy) -> pd.DataFrame:
    """One row per (suspect_kind, suspect_id) with problem types, escalations and reason."""
    found: dict[tuple[str, str], dict] = {}

    def add(kind, sid, problem, reason, escalation=None):
        d = found.setdefault((str(kind), str(sid)), {"problems": set(), "reasons": [],
                                                      "escalations": set()})
        if problem:
            d["problems"].add(str(problem))
        if reason not in d["reasons"]:
            d["reasons"].append(reason)
        if escalation:
            d["escalations"].add(escalation)

    if escalations is not None and not escalations.empty:
        e = escalations[(escalations["status"] == "open") & escalations["suspect_kind"].notna()
                        & escalations["suspect_kind"].isin(policy.kinds)]
        for r in e.itertuples():
            add(r.suspect_kind, r.suspect_id, r.problem_type_code,
                f"escalation {r.rule} [{r.severity}]: {r.summary}", r.escalation_id)
    if ranking is not None and not ranking.empty:
        rk = pd.to_numeric(ranking["rank"], errors="coerce")
        q = pd.to_numeric(ranking["q_value"] if "q_value" in ranking else ranking["p_value"],
                          errors="coerce")
        lift = pd.to_numeric(ranking["lift"], errors="coerce")
        top = ranking[ranking["suspect_kind"].isin(policy.kinds) & (rk <= policy.top_rank)
                      & (q <= policy.max_q_value) & (lift >= policy.min_lift)]
        for r in top.itertuples():
            add(r.suspect_kind, r.suspect_id, r.problem_type_code,
                f"rank {int(r.rank)} suspect for {r.problem_type_code} "
                f"(lift {float(r.lift):.1f}x, {int(r.complaints_exposed)} complaints)")
    rows = [{"suspect_kind": k, "suspect_id": s,
             "problem_type_codes": ", ".join(sorted(d["problems"])) or None,
             "escalations": ", ".join(sorted(d["escalations"])) or None,
             "reason": "; ".join(d["reasons"])} for (k, s), d in sorted(found.items())]
    return pd.DataFrame(rows, columns=["suspect_kind", "suspect_id", "problem_type_codes",
                                       "escalations", "reason"])


HOLD_KEYS = ["suspect_kind", "suspect_id", "batch_code"]


def _breakdowns(delivered: pd.DataFrame, col: str) -> dict[tuple, str]:
    """(suspect_kind, suspect_id, batch_code) -> 'GD 1200; JS 300': units in the field per
    value of `col`, largest first (ties in `col` order), values with no units left out."""
    d = delivered[delivered[col].notna()]
    if d.empty:
        return {}
    s = d.groupby([*HOLD_KEYS, col], sort=True)["units_at_risk"].sum()
    s = s[s > 0].reset_index()
    if s.empty:
        return {}
    s = s.sort_values([*HOLD_KEYS, "units_at_risk", col],
                      ascending=[True, True, True, False, True], kind="stable")
    text = (s[col].astype(str) + " " + s["units_at_risk"].astype("int64").astype(str)).tolist()
    keys = zip(*(s[k].tolist() for k in HOLD_KEYS), strict=True)
    out: dict[tuple, str] = {}
    for key, group in itertools.groupby(zip(keys, text, strict=True), key=lambda kt: kt[0]):
        out[key] = "; ".join(t for _, t in group)  # rows of a key are adjacent (sorted)
    return out


def build_hold_list(suspects: pd.DataFrame, forward: pd.DataFrame, batches: pd.DataFrame,
                    previous: pd.DataFrame | None, now: datetime) -> pd.DataFrame:
    """The hold list rows (COLUMNS), first_seen carried over from `previous`. Units are summed
    per (suspect, batch) in one pass over the forward trace (scale 10: millions of rows)."""
    if suspects.empty or forward is None or forward.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    f = forward.merge(suspects[["suspect_kind", "suspect_id"]], on=["suspect_kind", "suspect_id"])
    if "had_excursion" in f:  # a machine implicates the batches with an excursion on it
        f = f[(f["suspect_kind"] != "equipment") | f["had_excursion"].fillna(False).astype(bool)]
    if "delivered_at" not in f:
        f = f.assign(delivered_at=pd.NaT)
    f = f[f[HOLD_KEYS].notna().all(axis=1)]  # as groupby: a row without its keys holds nothing
    f = f.assign(units_at_risk=pd.to_numeric(f["units_at_risk"], errors="coerce").fillna(0))
    if f.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    shipped = f["shipment_no"].notna()
    on_road = shipped & f["delivered_at"].isna()
    in_field = shipped & f["delivered_at"].notna()
    units = f.assign(_transit=f["units_at_risk"].where(on_road, 0),
                     _field=f["units_at_risk"].where(in_field, 0)
                     ).groupby(HOLD_KEYS, sort=True)[["_transit", "_field"]].sum()
    delivered = f[in_field]
    by_province = _breakdowns(delivered, "province_code")
    by_customer = _breakdowns(delivered, "customer_code")
    # per-batch and per-suspect facts as dicts: a row's lookups are then O(1) (pandas label
    # lookups per row took ~10 s for the 44k holds of scale 10); only the held batches'
    # facts, each column converted at once (iterating Arrow-backed columns value by value
    # took ~0.8 s of a scale-10 run)
    held = batches[batches["batch_code"].isin(units.index.get_level_values(2))]
    codes = held["batch_code"].tolist()
    batch = {c: dict(zip(codes, held[c].tolist(), strict=True))
             for c in ("units_produced", "units_shipped", "product_code", "line") if c in held}
    known = set(codes)
    prev_first = {} if previous is None or previous.empty else dict(
        zip(previous["hold_id"].tolist(), previous["first_seen"].tolist(), strict=True))
    info = {(k, s): (p, e, r) for k, s, p, e, r in zip(
        suspects["suspect_kind"], suspects["suspect_id"], suspects["problem_type_codes"],
        suspects["escalations"], suspects["reason"], strict=True)}
    rows = []
    for (kind, sid, code), transit, field in zip(units.index, units["_transit"],
                                                  units["_field"], strict=True):
        here = code in known
        produced = _int(batch["units_produced"].get(code)) if here else None
        n_shipped = _int(batch["units_shipped"].get(code)) if here else None
        stock = None if produced is None else max(produced - (n_shipped or 0), 0)
        hid = f"{kind}|{sid}|{code}"
        problems, escalations, reason = info[(kind, sid)]
        rows.append({
            "hold_id": hid, "suspect_kind": kind, "suspect_id": sid, "batch_code": code,
            "material_lot": sid if kind == "supplier_lot" else None,
            "product_code": batch["product_code"].get(code) if here else None,
            "line": batch["line"].get(code) if here and "line" in batch else None,
            "units_produced": produced, "units_shipped": n_shipped,
            "units_in_stock": stock, "units_in_transit": int(transit),
            "units_in_field": int(field),
            "field_by_province": by_province.get((kind, sid, code)),
            "field_by_customer": by_customer.get((kind, sid, code)),
            "problem_type_codes": problems, "escalations": escalations,
            "reason": reason, "first_seen": prev_first.get(hid, now), "last_seen": now,
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _int(v):
    if v is None or pd.isna(v):
        return None
    return int(v)
