"""Process readings: the bulk export, generated with numpy per period and streamed to CSV
through DuckDB, one file per period. Normal readings stay inside the window in every unit;
planted excursions go above it."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from . import formats as F
from .plant import Plant, spec_for
from .reference import EQUIPMENT_TYPES, PARAMETER_ZH

PARAMS = ["temperature", "pressure", "speed", "humidity"]
# unit spelling -> (probability, scale, offset, decimals): shown = canonical * scale + offset
UNIT_MIX = {
    "temperature": [("℃", .70, 1, 0, 2), ("°C", .10, 1, 0, 2), ("C", .05, 1, 0, 2), ("摄氏度", .04, 1, 0, 2),
                    ("°F", .05, 1.8, 32, 2), ("F", .03, 1.8, 32, 2), ("K", .03, 1, 273.15, 2)],
    "pressure": [("kPa", .70, 1, 0, 2), ("MPa", .10, 0.001, 0, 5), ("bar", .10, 0.01, 0, 4),
                 ("psi", .07, 1 / 6.894757293, 0, 3), ("Pa", .03, 1000, 0, 0)],
    "speed": [("mm/s", .75, 1, 0, 3), ("m/min", .15, 0.06, 0, 4), ("cm/s", .10, 0.1, 0, 4)],
    "humidity": [("%RH", .70, 1, 0, 2), ("%", .20, 1, 0, 2), ("RH%", .10, 1, 0, 2)],
}
UNITS = [u[0] for p in PARAMS for u in UNIT_MIX[p]]
UNKNOWN_UNIT = "deg.C"
BAD_TS = "2024-02-30 25:61:00"
CHUNK_ROWS = 400_000  # readings generated and handed to DuckDB per record batch


def to_canonical(parameter: str, value: float, unit: str) -> float:
    """Inverse of the unit mix, for checks."""
    for u, _p, scale, offset, _d in UNIT_MIX[parameter]:
        if u == unit:
            return (value - offset) / scale
    raise KeyError(f"unknown unit {unit!r} for {parameter}")


def series(plant: Plant) -> list[tuple[int, str, tuple]]:
    """(equipment index, parameter, (target, lsl, usl, unit)) for every sensor."""
    out = []
    for i, e in enumerate(plant.equipment):
        for name, *_ in EQUIPMENT_TYPES[e.type_key][3]:
            out.append((i, name, spec_for(plant.specs, e, name)))
    return out


def write_readings(plant: Plant, out_dir: Path, periods: list[tuple[dt.datetime, dt.datetime, str]],
                   rng: np.random.Generator, progress=None) -> list[dict]:
    """Write one CSV per period; returns file records (path, rows, extra quarantine rows)."""
    sers = series(plant)
    span = plant.sizes.days * 86400
    interval = max(60.0, span * len(sers) / plant.sizes.readings)
    t0 = int((plant.span_end - dt.timedelta(days=plant.sizes.days) - dt.datetime(1970, 1, 1)).total_seconds())
    eq_names = pa.array([e.equipment_id for e in plant.equipment])
    pnames = pa.array([x for p in PARAMS for x in (p, PARAMETER_ZH[p])])
    units = pa.array(UNITS)
    exc = {}
    for eid, param, s, e, _codes in plant.excursions:
        exc.setdefault((eid, param), []).append((_epoch(s), _epoch(e)))
    phases = rng.uniform(0, interval, len(sers))
    records = []
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    schema = pa.schema([("equipment_id", pa.dictionary(pa.int32(), pa.string())), ("ts", pa.timestamp("s")),
                        ("parameter", pa.dictionary(pa.int32(), pa.string())), ("value", pa.float64()),
                        ("unit", pa.dictionary(pa.int32(), pa.string()))])
    for pi, (p0, p1, rel) in enumerate(periods):
        a, b = _epoch(p0) - t0, _epoch(p1) - t0
        n_sub = max(1, int(np.ceil((b - a) / interval * len(sers) / CHUNK_ROWS)))
        edges = [a + (b - a) * i // n_sub for i in range(n_sub + 1)]
        counter = [0]

        def chunks(edges=edges, counter=counter):
            for lo, hi in itertools.pairwise(edges):
                batch = _chunk(plant, sers, exc, phases, interval, t0, lo, hi, rng, eq_names, pnames, units)
                counter[0] += batch.num_rows
                yield batch

        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        con.register("r", pa.RecordBatchReader.from_batches(schema, chunks()))
        con.execute(
            "COPY (SELECT equipment_id::VARCHAR AS equipment_id, strftime(ts, '%Y-%m-%d %H:%M:%S') AS ts, "
            "parameter::VARCHAR AS parameter, value, unit::VARCHAR AS unit FROM r) "
            f"TO '{path.as_posix()}' (FORMAT csv, HEADER true, DELIMITER ',')")
        con.unregister("r")
        rows = counter[0]
        bad = []
        if pi == 0:  # a row with an unknown unit (kept: a dictionary gap) and one to quarantine
            eq = plant.equipment[-1]
            first = (p0 + F.TZ_OFFSET).replace(microsecond=0) + dt.timedelta(hours=1, seconds=7)
            with path.open("a", encoding="utf-8", newline="") as f:
                f.write(f"{eq.equipment_id},{first:%Y-%m-%d %H:%M:%S},temperature,25.4,{UNKNOWN_UNIT}\n")
                f.write(f"{eq.equipment_id},{BAD_TS},humidity,48.2,%RH\n")
            bad = [(rows + 3, "invalid_timestamp")]
            rows += 2
        records.append({"path": rel, "rows": rows, "bad_rows": bad})
        if progress:
            progress(f"process_readings: {rel} ({rows:,} rows)")
    con.close()
    return records


def _chunk(plant, sers, exc, phases, interval, t0, a, b, rng, eq_names, pnames, units) -> pa.RecordBatch:
    """All sensors' readings with grid time in [a, b) seconds after t0, sorted by time."""
    cols = {k: [] for k in ("eq", "par", "t", "val", "unit")}
    for si, (ei, pname, (target, lsl, usl, _u)) in enumerate(sers):
        k0 = int(np.ceil((a - phases[si]) / interval))
        k1 = int(np.ceil((b - phases[si]) / interval))
        if k1 <= k0:
            continue
        k = np.arange(max(k0, 0), k1)
        t = (t0 + phases[si] + k * interval).astype(np.int64) + rng.integers(0, 20, k.size)
        w = usl - lsl
        v = np.clip(rng.normal(target, w / 10, k.size), target - 0.4 * w, target + 0.4 * w)
        for s, e in exc.get((plant.equipment[ei].equipment_id, pname), []):
            m = (t >= s) & (t <= e)
            v[m] = usl + rng.uniform(0.15, 0.5, int(m.sum())) * w
        mix = UNIT_MIX[pname]
        choice = rng.choice(len(mix), size=k.size, p=np.array([x[1] for x in mix]) / sum(x[1] for x in mix))
        shown = np.empty(k.size)
        for ui, (_name, _p, scale, offset, dec) in enumerate(mix):
            m = choice == ui
            shown[m] = np.round(np.round(v[m], 2) * scale + offset, dec)
        uoff = sum(len(UNIT_MIX[p]) for p in PARAMS[:PARAMS.index(pname)])
        zh = rng.random(k.size) < 0.15
        cols["eq"].append(np.full(k.size, ei, np.int32))
        cols["par"].append((PARAMS.index(pname) * 2 + zh).astype(np.int32))
        cols["t"].append(t)
        cols["val"].append(shown)
        cols["unit"].append((choice + uoff).astype(np.int32))
    arr = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()}
    order = np.lexsort((arr["par"], arr["eq"], arr["t"]))
    local_t = (arr["t"][order] + 8 * 3600).astype("datetime64[s]")
    return pa.RecordBatch.from_arrays([
        pa.DictionaryArray.from_arrays(pa.array(arr["eq"][order].astype(np.int32)), eq_names),
        pa.array(local_t, pa.timestamp("s")),
        pa.DictionaryArray.from_arrays(pa.array(arr["par"][order].astype(np.int32)), pnames),
        pa.array(arr["val"][order].astype(np.float64)),
        pa.DictionaryArray.from_arrays(pa.array(arr["unit"][order].astype(np.int32)), units),
    ], names=["equipment_id", "ts", "parameter", "value", "unit"])


def _epoch(t: dt.datetime) -> int:
    return int((t - dt.datetime(1970, 1, 1)).total_seconds())
