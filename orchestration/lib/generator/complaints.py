"""CRM complaints: base rate plus planted causes, typed the way agents type, with noise
(duplicates, redelivered file, status updates, broken rows, a file missing a column)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import formats as F
from .plant import Plant, ShipLine, exposed
from .reference import COLUMNS, DESCRIPTIONS, GIVEN, PROBLEM_BASE_SHARE, SURNAMES
from .writers import FileSpec, headers_for, write_table

CODES = list(PROBLEM_BASE_SHARE)
SAFETY = [c for c in CODES if c.startswith("SF")]
EXTRA_COLUMN = "wechat_openid"
# weekly file formats, in rotation: every timestamp form and encoding appears
WEEK_SPECS = [
    FileSpec("csv", "utf-8", "en", False, "iso_space"),
    FileSpec("csv", "gb18030", "zh", False, "cn"),
    FileSpec("xlsx", "utf-8", "zh", True, "excel"),
    FileSpec("jsonl", "utf-8", "en", False, "epoch_ms"),
    FileSpec("tsv", "utf-8-sig", "zh", False, "slash"),
    FileSpec("txt", "gbk", "en", True, "iso_offset"),
]
EXT = {"csv": "csv", "tsv": "tsv", "txt": "txt", "xlsx": "xlsx", "jsonl": "jsonl"}


@dataclass
class Complaint:
    ship: ShipLine
    problem: str
    secondary: list[str]
    received: dt.datetime  # UTC
    name: str
    phone: str
    channel: int
    description: str
    severity: int
    serial_typed: str | None
    batch_typed: str | None
    derivable: bool
    model_blank: bool = False
    status: str = "open"
    cid: str = ""
    first_of: Complaint | None = None  # set on a duplicate entry
    update: dict | None = None  # later status update
    quarantine: str | None = None  # reason code of its only row
    rows: list = field(default_factory=list)  # (path, source_row)


def _pick_lines(rng, lines: list[ShipLine], n: int) -> list[ShipLine]:
    if n <= 0 or not lines:
        return []
    q = np.array([sl.qty for sl in lines], dtype=float)
    idx = rng.choice(len(lines), size=n, p=q / q.sum())
    return [lines[int(i)] for i in idx]


def make_complaints(plant: Plant, rng: np.random.Generator) -> list[Complaint]:
    """Distinct complaints (canonical), ordered by time, plus duplicate entries."""
    sizes = plant.sizes
    lines = plant.ship_lines
    units = float(sum(sl.qty for sl in lines))
    exp_lines = {k: [sl for sl in lines if exposed(plant, k, sl)] for k in plant.causes}
    # solve base count so that base + planted extras ~ target
    extra_per_base = 0.0
    for k, c in plant.causes.items():
        u_e = sum(sl.qty for sl in exp_lines[k])
        extra_per_base += (c["lift"] - 1) * PROBLEM_BASE_SHARE[c["problem"]] * u_e / units
    n_base = max(300, int(sizes.complaints / (1 + extra_per_base)))
    shares = np.array([PROBLEM_BASE_SHARE[c] for c in CODES])
    base_types = rng.choice(len(CODES), size=n_base, p=shares / shares.sum())
    late = [sl for sl in lines if F.local(sl.delivered_at).date() > sl.promised]
    picks: list[tuple[ShipLine, str]] = []
    base_lines = _pick_lines(rng, lines, n_base)
    for sl, ti in zip(base_lines, base_types):
        code = CODES[int(ti)]
        if code == "DL01" and late:
            sl = late[int(rng.integers(len(late)))]
        picks.append((sl, code))
    for k in sorted(plant.causes):
        c = plant.causes[k]
        u_e = sum(sl.qty for sl in exp_lines[k])
        rate = n_base * PROBLEM_BASE_SHARE[c["problem"]] / units
        n_extra = max(15, round((c["lift"] - 1) * rate * u_e))
        c["units_exposed"] = int(u_e)
        c["extra_complaints"] = n_extra
        picks.extend((sl, c["problem"]) for sl in _pick_lines(rng, exp_lines[k], n_extra))
    out = []
    phones = set()
    for sl, code in picks:
        out.append(_complaint(sl, code, rng, phones))
    out.sort(key=lambda c: (c.received, c.phone))
    # duplicates: the same customer, product and day, entered again later that day
    dups = []
    for c in out:
        if rng.random() < 0.06:
            t_local = F.local(c.received)
            left = (dt.datetime.combine(t_local.date(), dt.time(23, 59)) - t_local).total_seconds() / 60
            if left < 10:
                continue
            d = _complaint(c.ship, c.problem, rng, phones, same=c)
            d.received = c.received + dt.timedelta(minutes=int(rng.integers(5, min(left, 240))))
            d.first_of = c
            c.model_blank = d.model_blank = False  # the same product, by model
            dups.append(d)
    allc = sorted(out + dups, key=lambda c: (c.received, c.phone, c.first_of is not None))
    for i, c in enumerate(allc, start=1):
        c.cid = f"CS{i:07d}"
    return allc


def _complaint(sl: ShipLine, code: str, rng, phones: set, same: Complaint | None = None) -> Complaint:
    b = sl.batch
    short = code.startswith("DL")
    lag = float(rng.uniform(0.1, 3)) if short else min(80.0, 1 + float(rng.exponential(20)))
    day_local = F.local(sl.delivered_at).date() + dt.timedelta(days=int(lag))
    t_local = dt.datetime.combine(day_local, dt.time(8)) + dt.timedelta(seconds=int(rng.integers(0, 13 * 3600)))
    if t_local <= F.local(sl.delivered_at):
        t_local = F.local(sl.delivered_at) + dt.timedelta(minutes=int(rng.integers(30, 300)))
    if same is not None:
        name, phone = same.name, same.phone
    else:
        name = SURNAMES[int(rng.integers(len(SURNAMES)))] + "".join(
            GIVEN[int(i)] for i in rng.integers(len(GIVEN), size=int(rng.integers(1, 3))))
        while True:
            phone = f"1{int(rng.choice([3, 5, 7, 8, 9]))}{int(rng.integers(10**8, 10**9)):09d}"
            if phone not in phones:
                phones.add(phone)
                break
    secondary: list[str] = []
    texts = DESCRIPTIONS[code]
    desc = texts[int(rng.integers(len(texts)))].format(m=b.product[1])
    r = rng.random()
    if same is None and code != "UNCLASSIFIED" and r < 0.12:
        pool = [c for c in CODES if c != code and c != "UNCLASSIFIED" and (code in SAFETY or c not in SAFETY)]
        sec = pool[int(rng.integers(len(pool)))]
        t2 = DESCRIPTIONS[sec]
        secondary = [sec]
        desc = desc + ("；另外" if not desc.isascii() else ". Also, ") + t2[int(rng.integers(len(t2)))].format(m=b.product[1])
    elif code != "UNCLASSIFIED" and r < 0.2:
        zh = [t for t in texts if not t.isascii()]
        en = [t for t in texts if t.isascii()]
        if zh and en:
            desc = zh[int(rng.integers(len(zh)))].format(m=b.product[1]) + " / " + en[int(rng.integers(len(en)))].format(m=b.product[1])
    sev = (int(rng.integers(9, 11)) if code in SAFETY else int(rng.integers(5, 11)) if code in ("QD04", "QD06", "QD09")
           else int(rng.integers(3, 9)) if code.startswith(("QD", "FN")) else int(rng.integers(1, 5)))
    label = F.batch_label(b.day, b.line, b.seq)
    serial = F.serial_no(b.product[0], b.serial_start + int(rng.integers(b.qty_good))) if b.product[4] else None
    u = rng.random()
    st = bt = None
    derivable = False
    v = int(rng.integers(0, 60))
    if serial and u < 0.45:
        st, derivable = F.serial_typed(serial, v), True
    elif serial and u < 0.55:
        st, bt, derivable = F.serial_typed(serial, v), F.crm_batch_typed(label, v), True
    elif u < (0.72 if serial else 0.62):
        bt, derivable = F.crm_batch_typed(label, v), True
    elif serial and u < 0.75:
        st = F.serial_broken(serial)
    elif u < 0.76 or (not serial and u < 0.70):
        bt = F.crm_batch_broken(label, v)
    if same is not None and rng.random() < 0.5:
        st, bt, derivable = same.serial_typed, same.batch_typed, same.derivable
    return Complaint(ship=sl, problem=code, secondary=secondary, received=t_local - F.TZ_OFFSET, name=name,
                     phone=phone, channel=int(rng.integers(len(F.CHANNELS))), description=desc, severity=sev,
                     serial_typed=st, batch_typed=bt, derivable=derivable, model_blank=rng.random() < 0.02,
                     status="open" if rng.random() < 0.6 else "in_progress")


def _row(c: Complaint, spec: FileSpec, variant: int, status: str, updated: dt.datetime | None,
         closed: dt.datetime | None) -> list:
    ts = lambda t: None if t is None else F.fmt_ts(t, spec.ts_form)
    zh = spec.header_language == "zh"
    return [c.cid, F.CHANNELS[c.channel][0 if (zh or variant % 3 == 0) else 1], ts(c.received), c.name, c.phone,
            F.fmt_province(c.ship.province, variant), None if c.model_blank else c.ship.batch.product[1],
            c.serial_typed, c.batch_typed, c.description, F.fmt_severity(c.severity, variant % 3),
            F.STATUS_FORMS[status][0 if zh else 1], ts(updated or c.received), ts(closed)]


def write_complaints(allc: list[Complaint], out: Path, rng) -> dict:
    """Write weekly files and the noise; return truth pieces."""
    cols = COLUMNS[("crm", "complaints")]
    first_day = F.local(allc[0].received).date()
    week0 = first_day - dt.timedelta(days=first_day.weekday())
    distinct = [c for c in allc if c.first_of is None]
    dup_firsts = {id(c.first_of) for c in allc if c.first_of is not None}
    # status updates for a third of distinct complaints
    for c in distinct:
        if rng.random() < 0.35:
            upd = c.received + dt.timedelta(days=float(rng.uniform(2, 20)))
            c.update = {"updated": upd.replace(microsecond=0), "status": "closed"}
    plain = [c for c in distinct if c.update is None and id(c) not in dup_firsts]
    # broken single rows: unparseable timestamps, empty required fields; kept away from week files 2/3
    weeks: dict[int, list] = {}
    for c in allc:
        weeks.setdefault((F.local(c.received).date() - week0).days // 7, []).append(("new", c))
    n_weeks = max(weeks) + 1
    for c in distinct:
        if c.update:
            w = min((F.local(c.update["updated"]).date() - week0).days // 7, n_weeks + 2)
            weeks.setdefault(w, []).append(("update", c))
    text_weeks = [w for w in sorted(weeks) if WEEK_SPECS[w % 6].fmt in ("csv", "tsv", "txt") and w % 6 != 1]
    step = max(1, len(plain) // 12)
    cand = [c for c in plain[3::step] if ((F.local(c.received).date() - week0).days // 7) % 6 != 1]
    bad_ts = [c for c in cand if (F.local(c.received).date() - week0).days // 7 in text_weeks][:3]
    cand = [c for c in cand if c not in bad_ts]
    for c in bad_ts:
        c.quarantine = "invalid_timestamp"
    for c in [c for c in cand if c.quarantine is None][:3]:
        c.quarantine = "missing_required_field"
    jsonl_weeks = [w for w in sorted(weeks) if WEEK_SPECS[w % 6].fmt == "jsonl"]
    malformed = next((c for c in plain if c.quarantine is None
                      and (F.local(c.received).date() - week0).days // 7 in jsonl_weeks[:1]), None)
    if malformed:
        malformed.quarantine = "malformed_row"
    # a late 补录 file that lacks a required column: its complaints are quarantined whole
    late_batch = [c for c in plain if c.quarantine is None][7::max(1, len(plain) // 8)][:8]
    for c in late_batch:
        c.quarantine = "missing_required_column"
    late_ids = {id(c) for c in late_batch}

    files, qrows, qfiles, updates, redelivered, gaps = [], [], [], [], [], []
    extra_week = min(weeks)
    redeliver_week = next((w for w in sorted(weeks) if w % 6 == 1), None)
    for w in sorted(weeks):
        spec = WEEK_SPECS[w % 6]
        day = week0 + dt.timedelta(days=7 * w + 6)
        rel = f"crm/complaints_{day:%Y%m%d}.{EXT[spec.fmt]}"
        headers = headers_for("crm", "complaints", cols, spec)
        if w == extra_week:
            headers = headers + [EXTRA_COLUMN]
        rows, raw_lines = [], {}
        entries = sorted(weeks[w], key=lambda e: (e[1].update["updated"] if e[0] == "update" else e[1].received, e[1].cid))
        for kind, c in entries:
            if id(c) in late_ids:
                continue
            variant = (w + len(rows)) % 12
            if kind == "new":
                r = _row(c, spec, variant, c.status, None, None)
            else:
                r = _row(c, spec, variant, "closed", c.update["updated"], c.update["updated"])
                updates.append({"complaint_id": c.cid, "path": rel, "source_row": len(rows) + 2 - (spec.fmt == "jsonl"),
                                    "status": "closed", "updated_at": _iso(c.update["updated"])})
            if kind == "new" and c.quarantine == "invalid_timestamp":
                r[2] = ["2024-13-45 25:61", "昨天下午", "2024-02-30 10:00"][len(qrows) % 3]
                r[12] = r[2]
            elif kind == "new" and c.quarantine == "missing_required_field":
                r[9] = ""
            if w == extra_week:
                r = r + [f"oX{int(rng.integers(16**10)):010x}"]
            line_no = len(rows) + (1 if spec.fmt == "jsonl" else 2)
            if kind == "new" and c.quarantine == "malformed_row":
                raw_lines[len(rows)] = json.dumps(dict(zip(headers, r)), ensure_ascii=False)[:-25]
            if kind == "new":
                c.rows.append((rel, line_no))
                if c.quarantine in ("invalid_timestamp", "missing_required_field", "malformed_row"):
                    qrows.append({"path": rel, "source_row": line_no, "reason_code": c.quarantine})
            rows.append(r)
        path = out / rel
        write_table(path, headers, rows, spec, raw_lines)
        files.append(_file(rel, spec, len(rows)))
        if w == extra_week:
            gaps.append({"field": "header", "value_seen": EXTRA_COLUMN, "system": "crm", "entity": "complaints",
                             "example_file": rel})
        if w == redeliver_week:
            copy = f"crm/complaints_{day:%Y%m%d}_2.{EXT[spec.fmt]}"
            shutil.copyfile(path, out / copy)
            files.append(_file(copy, spec, len(rows)))
            redelivered.append({"path": copy, "duplicate_of": rel})
    if late_batch:
        spec = FileSpec("csv", "utf-8", "zh", False, "iso_space")
        last = max(F.local(c.received).date() for c in late_batch) + dt.timedelta(days=9)
        rel = f"crm/complaints_{last:%Y%m%d}_3.csv"
        keep = [i for i, col in enumerate(cols) if col != "channel"]
        headers = [headers_for("crm", "complaints", cols, spec)[i] for i in keep]
        rows = []
        for c in late_batch:
            r = _row(c, spec, len(rows), c.status, None, None)
            rows.append([r[i] for i in keep])
            c.rows.append((rel, len(rows) + 1))
        write_table(out / rel, headers, rows, spec)
        files.append(_file(rel, spec, len(rows)))
        qfiles.append({"path": rel, "reason_code": "missing_required_column", "missing_column": "channel"})
    return {"files": files, "quarantine_rows": qrows, "quarantine_files": qfiles, "status_updates": updates,
                "redelivered": redelivered, "gaps": gaps}


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _file(rel: str, spec: FileSpec, rows: int) -> dict:
    return {"path": rel, "system": "crm", "entity": "complaints", "format": spec.fmt, "encoding": spec.encoding,
                "header_language": spec.header_language, "ts_form": spec.ts_form, "rows": rows}


def truth_of(allc: list[Complaint]) -> dict:
    """Per complaint id: its true batch, problem, distinct id and fate."""
    out = {}
    for c in allc:
        first = c.first_of or c
        out[c.cid] = {"true_batch_code": c.ship.batch.code, "batch_derivable": c.derivable,
                          "problem_type_code": c.problem, "secondary_problem_codes": c.secondary,
                          "distinct_complaint_id": first.cid, "quarantined": c.quarantine is not None,
                          "quarantine_reason": c.quarantine, "shipment_no": c.ship.shipment_no,
                          "final_status": "closed" if (c.update and not c.quarantine) else c.status}
    return out
