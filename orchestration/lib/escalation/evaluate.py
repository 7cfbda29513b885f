"""Evaluate escalation rules over the published marts: pure functions over DataFrames.

Inputs are the columns of `marts.complaint_trace` (complaints), `marts.complaint_trend`
(trend) and `marts.suspect_ranking` (ranking). Each rule kind returns its firings: one per
escalation key (a complaint, a product model, a region, a problem type's suspect), with the
evidence that made it fire. Windows end at `as_of` and start `rule.window` before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from orchestration.lib.escalation.rules import EscalationConfig, Rule

LIST_COLUMN = {"supplier_lot": "material_lots", "supplier": "supplier_codes",
               "equipment": "excursion_equipment_ids"}


@dataclass
class Firing:
    rule: str
    kind: str
    escalation_key: str
    severity: str
    window_start: datetime
    window_end: datetime
    complaints: int
    evidence: dict[str, Any]
    summary: str
    recipients: tuple[str, ...] = ()
    suspect_kind: str | None = None
    suspect_id: str | None = None
    problem_type_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def as_of_time(complaints: pd.DataFrame, mode: str, now: datetime) -> datetime | None:
    """The end of every window: the latest complaint received, or `now`."""
    if mode == "now":
        return now
    if complaints.empty or "received_at" not in complaints:
        return None
    latest = pd.to_datetime(complaints["received_at"], errors="coerce").max()
    return None if pd.isna(latest) else latest.to_pydatetime()


def evaluate(cfg: EscalationConfig, complaints: pd.DataFrame, trend: pd.DataFrame,
             ranking: pd.DataFrame, now: datetime) -> list[Firing]:
    """Every rule's firings, in rule order then key order."""
    complaints = _prepare(complaints)
    as_of = as_of_time(complaints, cfg.as_of, now)
    if as_of is None:
        return []
    out: list[Firing] = []
    for rule in cfg.rules:
        start = as_of - rule.window_delta
        fn = _KIND_FUNCS[rule.kind]
        firings = fn(rule, complaints, trend, ranking, start, as_of)
        out.extend(sorted(firings, key=lambda f: f.escalation_key))
    return out


def _prepare(c: pd.DataFrame) -> pd.DataFrame:
    c = c.copy()
    for col in ("complaint_id", "received_at", "status", "problem_category", "problem_type_code",
                "severity", "product_model", "customer_key", "batch_code", "region",
                "material_lots", "supplier_codes", "excursion_equipment_ids"):
        if col not in c:
            c[col] = None
    c["received_at"] = pd.to_datetime(c["received_at"], errors="coerce")
    c["severity"] = pd.to_numeric(c["severity"], errors="coerce")
    return c[c["received_at"].notna()]


def _in_window(c: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    return c[(c["received_at"] > start) & (c["received_at"] <= end)]


def _firing(rule: Rule, key: str, start, end, n: int, evidence: dict, summary: str,
            **kw) -> Firing:
    return Firing(rule=rule.name, kind=rule.kind, escalation_key=key, severity=rule.severity,
                  window_start=start, window_end=end, complaints=int(n), evidence=evidence,
                  summary=summary, recipients=rule.recipients, **kw)


def _ids(series: pd.Series, limit: int = 20) -> list[str]:
    return sorted(str(x) for x in series.dropna().unique())[:limit]


def safety_category(rule, c, trend, ranking, start, end) -> list[Firing]:
    cats = tuple(rule.params["categories"])
    w = _in_window(c, start, end)
    cat = w["problem_category"].fillna("").astype(str)
    code = w["problem_type_code"].fillna("").astype(str)
    hit = w[(cat.str.startswith(cats) | code.str.startswith(cats))
            & (w["status"].fillna("open").astype(str) != "closed")]
    return [_firing(rule, str(r.complaint_id), start, end, 1,
                    {"complaint_ids": [str(r.complaint_id)],
                     "problem_type_code": r.problem_type_code, "severity": _num(r.severity),
                     "product_model": r.product_model, "batch_code": r.batch_code,
                     "status": r.status, "received_at": str(r.received_at)},
                    f"safety complaint {r.complaint_id} ({r.problem_type_code}) on "
                    f"{r.product_model or 'unknown model'}, status {r.status}",
                    problem_type_code=r.problem_type_code)
            for r in hit.itertuples()]


def severity_burst(rule, c, trend, ranking, start, end) -> list[Firing]:
    p = rule.params
    per = p["per"]
    w = _in_window(c, start, end)
    w = w[(w["severity"] >= p["min_severity"]) & w[per].notna()]
    out = []
    for value, g in w.groupby(per, sort=True):
        if len(g) >= p["min_complaints"]:
            out.append(_firing(rule, str(value), start, end, len(g),
                               {per: str(value), "complaints": len(g),
                                "min_severity": p["min_severity"],
                                "max_severity": _num(g["severity"].max()),
                                "complaint_ids": _ids(g["complaint_id"])},
                               f"{len(g)} complaints of severity >= {p['min_severity']} on "
                               f"{per} {value} within {rule.window}"))
    return out


def repeat_flags(c: pd.DataFrame, lookback_days: int, per: str) -> pd.Series:
    """True for a complaint whose customer already complained, within lookback_days before,
    about the same `per` value or the same batch."""
    flags = pd.Series(False, index=c.index)
    known = c[c["customer_key"].notna()]
    if known.empty:
        return flags
    left = known[["complaint_id", "customer_key", "received_at", per, "batch_code"]]
    pairs = left.merge(left, on="customer_key", suffixes=("", "_prev"))
    gap = pairs["received_at"] - pairs["received_at_prev"]
    earlier = (gap > timedelta(0)) | ((gap == timedelta(0))
                                     & (pairs["complaint_id_prev"] < pairs["complaint_id"]))
    same = ((pairs[per].notna() & (pairs[per] == pairs[f"{per}_prev"]))
            | (pairs["batch_code"].notna() & (pairs["batch_code"] == pairs["batch_code_prev"])))
    hit = pairs[earlier & (gap <= timedelta(days=lookback_days)) & same]
    repeated = set(hit["complaint_id"])
    return c["complaint_id"].isin(repeated)


def repeat_rate(rule, c, trend, ranking, start, end) -> list[Firing]:
    p = rule.params
    per = p["per"]
    flags = repeat_flags(c, p["lookback_days"], per)
    c = c.assign(_repeat=flags)
    w = _in_window(c, start, end)
    w = w[w[per].notna()]
    out = []
    for value, g in w.groupby(per, sort=True):
        n, r = len(g), int(g["_repeat"].sum())
        rate = r / n if n else 0.0
        if n >= p["min_complaints"] and rate > p["max_rate"]:
            out.append(_firing(rule, str(value), start, end, n,
                               {per: str(value), "complaints": n, "repeats": r,
                                "repeat_rate": round(rate, 4), "max_rate": p["max_rate"],
                                "repeat_complaint_ids": _ids(g.loc[g["_repeat"], "complaint_id"])},
                               f"{r} of {n} complaints on {per} {value} are repeats "
                               f"({rate:.0%} > {p['max_rate']:.0%}) within {rule.window}"))
    return out


def region_spike(rule, c, trend, ranking, start, end) -> list[Firing]:
    if trend is None or trend.empty:
        return []
    t = trend[(trend["dimension"] == "region") & trend["is_spike"].fillna(False).astype(bool)]
    week = pd.to_datetime(t["week"], errors="coerce")
    t = t[(week + pd.Timedelta(days=7) > start) & (week <= end)]
    out = []
    for value, g in t.groupby("value", sort=True):
        if len(g) < rule.params["min_weeks"]:
            continue
        weeks = sorted(str(pd.Timestamp(x).date()) for x in g["week"])
        n = int(g["complaints"].sum())
        expected = g["expected_complaints"].sum() if "expected_complaints" in g else None
        out.append(_firing(rule, str(value), start, end, n,
                           {"region": str(value), "spike_weeks": weeks, "complaints": n,
                            "expected_complaints": _num(expected)},
                           f"region {value}: {n} complaints in spike week(s) {', '.join(weeks)}"
                           + (f" against {expected:.1f} expected" if expected else "")))
    return out


def cluster_on_suspect(rule, c, trend, ranking, start, end) -> list[Firing]:
    p = rule.params
    if ranking is None or ranking.empty:
        return []
    rk = pd.to_numeric(ranking["rank"], errors="coerce")
    cand = ranking[ranking["suspect_kind"].isin(p["kinds"]) & (rk <= p["max_rank"])]
    w = _in_window(c, start, end)
    out = []
    for kind in p["kinds"]:
        col = LIST_COLUMN.get(kind)
        if col is None:
            continue
        exploded = _explode(w, col)
        if exploded.empty:
            continue
        for r in cand[cand["suspect_kind"] == kind].itertuples():
            g = exploded[(exploded["_member"] == str(r.suspect_id))
                         & (exploded["problem_type_code"] == r.problem_type_code)]
            n = g["complaint_id"].nunique()
            if n < p["min_complaints"]:
                continue
            key = f"{r.problem_type_code}|{kind}|{r.suspect_id}"
            out.append(_firing(rule, key, start, end, n,
                               {"problem_type_code": r.problem_type_code, "suspect_kind": kind,
                                "suspect_id": str(r.suspect_id), "complaints": int(n),
                                "rank": int(r.rank), "lift": _num(r.lift),
                                "p_value": _num(r.p_value),
                                "complaint_ids": _ids(g["complaint_id"]),
                                "batch_codes": _ids(g["batch_code"])},
                               f"{n} {r.problem_type_code} complaints within {rule.window} on "
                               f"batches sharing {kind} {r.suspect_id} (rank {int(r.rank)})",
                               suspect_kind=kind, suspect_id=str(r.suspect_id),
                               problem_type_code=r.problem_type_code))
    return out


def _explode(w: pd.DataFrame, col: str) -> pd.DataFrame:
    """One row per (complaint, member of the comma-separated list column)."""
    v = w[w[col].notna()]
    if v.empty:
        return v.assign(_member=pd.Series(dtype="object"))
    members = v[col].astype(str).str.split(",")
    out = v.assign(_member=members).explode("_member")
    out["_member"] = out["_member"].str.strip()
    return out[out["_member"] != ""]


def _num(x):
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    if pd.isna(f):
        return None
    return int(f) if f.is_integer() else round(f, 6)


_KIND_FUNCS = {
    "safety_category": safety_category,
    "severity_burst": severity_burst,
    "repeat_rate": repeat_rate,
    "region_spike": region_spike,
    "cluster_on_suspect": cluster_on_suspect,
}
