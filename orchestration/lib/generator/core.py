"""`generate()`: simulate a plant, write its exports and `truth.json`."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .complaints import make_complaints, truth_of, write_complaints
from .exports import Writer, periods, write_capa, write_master, write_periodic
from .plant import Sizes, simulate
from .readings import UNKNOWN_UNIT, write_readings


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(out: Path, scale: float = 0.01, seed: int = 7,
             progress: Callable[[str], None] | None = None) -> dict:
    """Write `out/{erp,mes,qms,crm}/...` and `out/truth.json`; return a summary."""
    out = Path(out)
    t_start = time.monotonic()
    say = progress or (lambda _m: None)
    for system in ("erp", "mes", "qms", "crm"):
        d = out / system
        if d.exists():
            for f in sorted(d.iterdir()):
                if f.is_file():
                    f.unlink()
        d.mkdir(parents=True, exist_ok=True)
    np.random.default_rng(seed)
    sizes = Sizes.of(scale)
    say(f"simulating plant: {sizes.lines} lines, {sizes.days} days, ~{sizes.batches:,} batches")
    plant = simulate(sizes, np.random.default_rng([seed, 1]))
    w = Writer(out, say)
    write_master(w, plant)
    write_periodic(w, plant, np.random.default_rng([seed, 2]))
    say("complaints")
    allc = make_complaints(plant, np.random.default_rng([seed, 3]))
    crm = write_complaints(allc, out, np.random.default_rng([seed, 4]))
    truth_c = truth_of(allc)
    write_capa(w, plant, truth_c, {c.cid: c.received for c in allc})
    pers = periods(plant)
    rec = write_readings(plant, out, [(a, b, f"mes/process_readings_{d:%Y%m%d}.csv") for a, b, d in pers],
                         np.random.default_rng([seed, 5]), say)
    files = list(w.files) + crm["files"]
    qrows = list(crm["quarantine_rows"])
    for r in rec:
        files.append({"path": r["path"], "system": "mes", "entity": "process_readings", "format": "csv", "encoding": "utf-8",
                          "header_language": "en", "ts_form": "iso_space", "rows": r["rows"]})
        qrows += [{"path": r["path"], "source_row": n, "reason_code": code} for n, code in r["bad_rows"]]
    files.sort(key=lambda f: f["path"])
    groups: dict[str, list[str]] = {}
    for cid, t in truth_c.items():
        groups.setdefault(t["distinct_complaint_id"], []).append(cid)
    dup_groups = [sorted(v) for k, v in sorted(groups.items()) if len(v) > 1]
    distinct = sum(1 for cid, t in truth_c.items() if t["distinct_complaint_id"] == cid and not t["quarantined"])
    causes = []
    for kind in ("equipment", "supplier_lot", "carrier", "product_model", "shift", "operator"):
        c = plant.causes[kind]
        causes.append(dict(suspect_kind=kind, suspect_id=c["suspect_id"], problem_type_code=c["problem"],
                           note=c["note"], lift_planted=c["lift"], units_exposed=c["units_exposed"],
                           extra_complaints=c["extra_complaints"],
                           **({"region": c["region"]} if "region" in c else {})))
    truth = {
        "seed": seed, "scale": scale,
        "sizes": {k: v for k, v in vars(sizes).items()},
        "generated_files": files,
        "planted_causes": causes,
        "complaints": truth_c,
        "distinct_complaints": distinct,
        "duplicate_groups": dup_groups,
        "quarantine": {"files": crm["quarantine_files"], "rows": sorted(qrows, key=lambda r: (r["path"], r["source_row"]))},
        "redelivered_files": crm["redelivered"],
        "status_updates": crm["status_updates"],
        "excursions": [{"equipment_id": e, "parameter": p, "start": _iso(s), "end": _iso(t), "batch_codes": codes}
                       for e, p, s, t, codes in plant.excursions],
        "dictionary_gaps": crm["gaps"] + [{"field": "unit", "value_seen": UNKNOWN_UNIT, "system": "mes",
                                               "entity": "process_readings", "example_file": rec[0]["path"]}],
    }
    # one top-level key per line, values compact (the C encoder: fast at scale 10)
    body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in truth.items())
    (out / "truth.json").write_text("{\n" + body + "\n}\n", encoding="utf-8")
    summary = {"out": str(out), "scale": scale, "seed": seed, "files": len(files),
                   "rows": {}, "complaints": len(truth_c), "distinct_complaints": distinct,
                   "seconds": round(time.monotonic() - t_start, 2)}
    for f in files:
        summary["rows"][f["entity"]] = summary["rows"].get(f["entity"], 0) + f["rows"]
    say(f"done in {summary['seconds']}s: {len(files)} files, {summary['rows'].get('process_readings', 0):,} readings, "
        f"{len(truth_c):,} complaint rows")
    return summary
