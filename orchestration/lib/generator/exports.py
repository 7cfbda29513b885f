"""Print the simulated plant as each system exports it (all entities except readings and complaints)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from . import formats as F
from .plant import Plant
from .reference import (
    COLUMNS,
    EQUIPMENT_TYPES,
    MASS_MATERIALS,
    MATERIALS,
    PARAMETER_ZH,
    PRODUCTS,
    PROVINCES,
    SUPPLIERS,
)
from .writers import FileSpec, headers_for, write_table

EXT = {"csv": "csv", "tsv": "tsv", "txt": "txt", "xlsx": "xlsx", "jsonl": "jsonl"}


class Writer:
    """Collects the files written and the truth about them."""

    def __init__(self, out: Path, progress=None):
        self.out, self.files, self.progress = out, [], progress

    def write(self, system: str, entity: str, day: dt.date, spec: FileSpec, rows: list[list],
              suffix: str = "", columns: list[str] | None = None) -> str:
        cols = columns or COLUMNS[(system, entity)]
        if not rows and spec.fmt == "jsonl":  # an empty jsonl file would carry no columns at all
            spec = FileSpec("csv", "utf-8", spec.header_language, spec.messy_headers, spec.ts_form, spec.date_form)
        rel = f"{system}/{entity}_{day:%Y%m%d}{suffix}.{EXT[spec.fmt]}"
        write_table(self.out / rel, headers_for(system, entity, cols, spec), rows, spec)
        self.files.append({"path": rel, "system": system, "entity": entity, "format": spec.fmt, "encoding": spec.encoding,
                               "header_language": spec.header_language, "ts_form": spec.ts_form, "rows": len(rows)})
        if self.progress:
            self.progress(f"{rel} ({len(rows):,} rows)")
        return rel

    def write_serials(self, day: dt.date, batches) -> str:
        rel = f"mes/serials_{day:%Y%m%d}.csv"
        table = serial_table(batches)
        con = duckdb.connect()
        con.register("s", table)
        con.execute("COPY (SELECT printf('SN%s%08d', product::VARCHAR, n) AS serial_no, batch::VARCHAR AS batch, "
                    "strftime(ts, '%Y-%m-%d %H:%M:%S') AS produced_at FROM s) "
                    f"TO '{(self.out / rel).as_posix()}' (FORMAT csv, HEADER true, DELIMITER ',')")
        con.close()
        self.files.append({"path": rel, "system": "mes", "entity": "serials", "format": "csv", "encoding": "utf-8",
                               "header_language": "en", "ts_form": "iso_space", "rows": len(table)})
        if self.progress:
            self.progress(f"{rel} ({len(table):,} rows)")
        return rel


def serial_table(batches) -> pa.Table:
    """Columns for the serials file: product code, unit number, batch (MES form), produced_at (local)."""
    prod, num, code, ts = [], [], [], []
    codes = []
    for i, b in enumerate(batches):
        if b.serial_start is None:
            continue
        n = b.qty_produced
        codes.append(F.batch_mes(b.day, b.line, b.seq, i % 3))
        dur = (b.end - b.start).total_seconds() / n
        start = int((F.local(b.start) - dt.datetime(1970, 1, 1)).total_seconds())
        prod.append(np.full(n, PRODUCT_INDEX[b.product[0]], np.int32))
        num.append(np.arange(b.serial_start, b.serial_start + n, dtype=np.int64))
        code.append(np.full(n, len(codes) - 1, np.int32))
        ts.append(start + (dur * (np.arange(n) + 0.5)).astype(np.int64))
    cat = (lambda xs, t: np.concatenate(xs) if xs else np.zeros(0, t))
    return pa.table({
        "product": pa.DictionaryArray.from_arrays(pa.array(cat(prod, np.int32)), pa.array([p[0] for p in PRODUCTS])),
        "n": pa.array(cat(num, np.int64)),
        "batch": pa.DictionaryArray.from_arrays(pa.array(cat(code, np.int32)), pa.array(codes, pa.string())),
        "ts": pa.array(cat(ts, np.int64).astype("datetime64[s]"), pa.timestamp("s")),
    })


PRODUCT_INDEX = {p[0]: i for i, p in enumerate(PRODUCTS)}


def periods(plant: Plant) -> list[tuple[dt.datetime, dt.datetime, dt.date]]:
    """Equal delivery periods over the span: (start UTC, end UTC, file date local)."""
    n = plant.sizes.periods
    start = plant.span_end - dt.timedelta(days=plant.sizes.days)
    out = []
    for i in range(n):
        a = start + dt.timedelta(days=plant.sizes.days * i // n)
        b = start + dt.timedelta(days=plant.sizes.days * (i + 1) // n)
        out.append((a, b, (F.local(b) - dt.timedelta(days=1)).date()))
    return out


def period_of(pers, t: dt.datetime) -> int:
    for i, (_a, b, _d) in enumerate(pers):
        if t < b:
            return i
    return len(pers) - 1


def _split(pers, items, key):
    out = [[] for _ in pers]
    for it in items:
        out[period_of(pers, key(it))].append(it)
    return out


def write_master(w: Writer, plant: Plant) -> None:
    day0 = (F.local(plant.span_end) - dt.timedelta(days=plant.sizes.days + 3)).date()
    # ERP products: GBK csv with Chinese headers
    rows = [[p[0], p[1], p[2], p[3], F.fmt_date(dt.date(2022 + i % 3, 1 + (3 * i) % 12, 1 + i), "compact")]
            for i, p in enumerate(PRODUCTS)]
    w.write("erp", "products", day0, FileSpec("csv", "gbk", "zh"), rows)
    # suppliers: xlsx, Chinese headers
    rows = [[s[0], s[1], F.fmt_province(next(p for p in PROVINCES if p[1] == s[2]), i), F.fmt_bool(True, 3 + i % 2)]
            for i, s in enumerate(SUPPLIERS)]
    w.write("erp", "suppliers", day0, FileSpec("xlsx", "utf-8", "zh"), rows)
    # materials: UTF-8 BOM csv, messy English headers
    unit_forms = {"pcs": ["pcs", "PCS", "个", "EA"], "kg": ["kg", "千克", "公斤"]}
    rows = [[m[0], m[1], m[2], unit_forms[m[3]][i % len(unit_forms[m[3]])], F.fmt_bool(m[4], 3 + i % 2)]
            for i, m in enumerate(MATERIALS)]
    w.write("erp", "materials", day0, FileSpec("csv", "utf-8-sig", "en", True), rows)
    # equipment: xlsx, Chinese headers, type in Chinese or English
    rows = []
    for i, e in enumerate(plant.equipment):
        _p, zh, en, _ = EQUIPMENT_TYPES[e.type_key]
        rows.append([e.equipment_id, e.name, zh if i % 3 else en, F.fmt_line(e.line, i)])
    w.write("mes", "equipment", day0, FileSpec("xlsx", "utf-8", "zh"), rows)
    # process specs: GBK csv, Chinese headers; moulder pressure in MPa, one machine-specific row
    rows, temp_forms = [], ["℃", "°C", "摄氏度"]
    for i, (key, (target, lsl, usl, unit)) in enumerate(sorted(plant.specs.items())):
        k0, param = key
        eq = next((e for e in plant.equipment if e.equipment_id == k0), None)
        t = EQUIPMENT_TYPES[eq.type_key if eq else k0]
        if param == "pressure" and target > 10000:
            target, lsl, usl, unit = target / 1000, lsl / 1000, usl / 1000, "MPa"
        if unit == "℃":
            unit = temp_forms[i % 3]
        rows.append([t[1] if i % 2 else t[2], eq.equipment_id if eq else None, param if i % 3 else PARAMETER_ZH[param],
                     target, lsl, usl, unit])
    w.write("mes", "process_specs", day0, FileSpec("csv", "gbk", "zh"), rows)


RECEIPT_SPECS = [FileSpec("txt", "gb18030", "zh", False, "cn"), FileSpec("csv", "utf-8", "en", False, "slash"),
                 FileSpec("jsonl", "utf-8", "en", False, "epoch_ms")]
WO_SPECS = [FileSpec("csv", "utf-8", "en", True, date_form=f) for f in F.DATE_FORMS]
SHIP_SPECS = [FileSpec("tsv", "utf-8", "en", False, "iso_offset", "iso"),
              FileSpec("tsv", "gb18030", "zh", False, "cn", "cn"),
              FileSpec("txt", "utf-8", "zh", True, "slash", "slash"),
              FileSpec("tsv", "utf-8-sig", "en", False, "iso_space", "compact")]
BATCH_SPECS = [FileSpec("csv", "utf-8", "zh", False, "iso_space"), FileSpec("csv", "utf-8", "en", False, "slash"),
               FileSpec("tsv", "gbk", "zh", True, "cn"), FileSpec("csv", "utf-8-sig", "en", False, "iso_offset")]
CONS_SPECS = [FileSpec("csv", "gbk", "zh"), FileSpec("csv", "utf-8", "en"), FileSpec("tsv", "utf-8", "en", True)]
INSP_SPECS = [FileSpec("csv", "utf-8-sig", "zh", False, "cn"), FileSpec("csv", "utf-8-sig", "en", False, "iso_space"),
              FileSpec("xlsx", "utf-8", "zh", False, "excel")]
MEAS_SPECS = [FileSpec("csv", "utf-8-sig", "zh"), FileSpec("csv", "utf-8-sig", "en", True)]


def _erp_noisy(code: str, i: int) -> str:
    """ERP codes as clerks sometimes key them: full-width, lower case, stray spaces."""
    if i % 53 == 7:
        return F.fullwidth(code)
    if i % 61 == 11:
        return code.lower() + " "
    return code


def _qty_unit(mat: str, qty: float, i: int) -> tuple:
    """A quantity in one of the unit spellings of its kind."""
    if mat in MASS_MATERIALS:
        names = list(F.MASS_UNITS)
        u = names[i % len(names)]
        v = qty * F.MASS_UNITS[u]
        return (round(v) if u in ("g", "克") else round(v, 3)), u
    return int(qty), F.QTY_UNITS[i % len(F.QTY_UNITS)]


def write_periodic(w: Writer, plant: Plant, rng: np.random.Generator) -> None:
    pers = periods(plant)
    # purchase receipts
    for pi, lots in enumerate(_split(pers, plant.lots, lambda lo: lo.received_at)):
        spec = RECEIPT_SPECS[pi % 3]
        rows = []
        for i, lo in enumerate(lots):
            q, u = _qty_unit(lo.material, lo.qty, pi + i)
            rows.append([lo.receipt_no, lo.line_no, lo.material, lo.supplier, lo.supplier_lot, lo.lot_code, q, u,
                         F.fmt_ts(lo.received_at, spec.ts_form)])
        w.write("erp", "purchase_receipts", pers[pi][2], spec, rows)
    by_period = _split(pers, plant.batches, lambda b: b.start)
    for pi, batches in enumerate(by_period):
        day = pers[pi][2]
        # work orders (released a day before)
        spec = WO_SPECS[pi % 4]
        rows = [[b.work_order_no, b.product[0], F.batch_erp(b.day, b.line, b.seq), int(np.ceil(b.qty_produced / 50) * 50),
                 F.fmt_line(b.line, i), F.fmt_date(b.day, spec.date_form), F.fmt_date(b.day, spec.date_form)]
                for i, b in enumerate(batches)]
        w.write("erp", "work_orders", day, spec, rows)
        # production batches
        spec = BATCH_SPECS[pi % 4]
        rows = []
        for i, b in enumerate(batches):
            rows.append([F.batch_mes(b.day, b.line, b.seq, i % 3), b.work_order_no, b.product[0], F.fmt_line(b.line, i + pi),
                         F.fmt_shift(b.shift, pi + i // 7), b.operator, F.fmt_ts(b.start, spec.ts_form),
                         F.fmt_ts(b.end, spec.ts_form), b.qty_produced, b.qty_good])
        w.write("mes", "production_batches", day, spec, rows)
        # material consumption
        spec = CONS_SPECS[pi % 3]
        rows = []
        for i, b in enumerate(batches):
            code = F.batch_mes(b.day, b.line, b.seq, i % 3)
            for j, (mat, lot, q) in enumerate(b.lots):
                qq, u = _qty_unit(mat, q, i + j)
                lot_txt = lot if (i + j) % 17 else (lot.lower() if j % 2 else " " + F.fullwidth(lot))
                rows.append([code, mat, lot_txt, qq, u])
        w.write("mes", "material_consumption", day, spec, rows)
        # serials: the big one after readings, written through DuckDB
        w.write_serials(day, batches)
    # shipments
    for pi, sls in enumerate(_split(pers, plant.ship_lines, lambda s: s.shipped_at)):
        spec = SHIP_SPECS[pi % 4]
        rows = []
        for i, s in enumerate(sls):
            b = s.batch
            rows.append([s.shipment_no, s.line_no, s.sales_order_no, s.customer, F.fmt_province(s.province, i + pi),
                         b.product[0], _erp_noisy(F.batch_erp(b.day, b.line, b.seq), i), s.qty, F.QTY_UNITS[(i + pi) % 7],
                         F.fmt_ts(s.shipped_at, spec.ts_form), s.carrier, F.fmt_date(s.promised, spec.date_form),
                         F.fmt_ts(s.delivered_at, spec.ts_form)])
        w.write("erp", "shipments", pers[pi][2], spec, rows)
    write_inspections(w, plant, pers, rng)


def write_inspections(w: Writer, plant: Plant, pers, rng) -> None:
    insp = []  # (time, type, lot_ref, sample, defects, defect_code, inspector, measure?)
    for lo in plant.lots:
        n = int(rng.choice([50, 80, 125]))
        insp.append((lo.received_at + dt.timedelta(hours=float(rng.uniform(2, 20))), "IQC", lo.lot_code, n,
                     int(rng.binomial(n, 0.004)), None))
    first_ship = {}
    for s in plant.ship_lines:
        first_ship.setdefault(s.batch.code, s.shipped_at)
    for b in plant.batches:
        ref = F.batch_qms(b.day, b.line, b.seq)
        if rng.random() < 0.3:
            insp.append((b.start + (b.end - b.start) / 2, "IPQC", ref, 20, int(rng.binomial(20, 0.01)), None))
        insp.append((b.end + dt.timedelta(minutes=int(rng.integers(20, 180))), "FQC", ref, 32,
                     int(rng.binomial(32, 0.006)), b))
        if b.code in first_ship:
            insp.append((first_ship[b.code] - dt.timedelta(hours=float(rng.uniform(1, 6))), "OQC", ref, 13,
                         int(rng.binomial(13, 0.004)), None))
    insp.sort(key=lambda x: (x[0], x[1], x[2]))
    seq = 0
    for pi, items in enumerate(_split(pers, insp, lambda x: x[0])):
        spec = INSP_SPECS[pi % 3]
        mspec = MEAS_SPECS[pi % 2]
        rows, mrows = [], []
        for i, (t, typ, ref, n, defects, b) in enumerate(items):
            seq += 1
            iid = f"QI{F.local(t):%y%m%d}{seq:06d}"
            ok = defects <= (1 if n >= 50 else 0)
            t = t.replace(microsecond=0)
            rows.append([iid, F.INSPECTION_TYPES[typ][(i + pi) % 2], ref, n, defects,
                         F.fmt_bool(ok, pi + i // 5), None if defects == 0 else ["QD01", "QD10", "QD08"][i % 3],
                         F.fmt_ts(t, spec.ts_form), f"QC{1 + i % 8:02d}"])
            if b is not None:
                lu = list(F.LENGTH_UNITS)[(i + pi) % 6]
                mu = list(F.MASS_UNITS)[(i + pi) % 6]
                for k in range(1, 6):
                    length = 120.0 + float(rng.normal(0, 0.08))
                    weight = 0.25 + float(rng.normal(0, 0.002))  # kg
                    f_l, f_m = F.LENGTH_UNITS[lu], F.MASS_UNITS[mu]
                    mrows.append([iid, "长度" if k % 2 else "length", k, round(length * f_l, 4), lu,
                                  round(119.6 * f_l, 4), round(120.4 * f_l, 4)])
                    mrows.append([iid, "重量" if k % 2 else "weight", k, round(weight * f_m, 5), mu,
                                  round(0.24 * f_m, 5), round(0.26 * f_m, 5)])
        w.write("qms", "inspections", pers[pi][2], spec, rows)
        w.write("qms", "measurements", pers[pi][2], mspec, mrows)


ROUTINE_CAUSES = [("来料尺寸偏差", "加严来料检验，供应商 8D 整改"), ("作业员未按 SOP 操作", "重新培训并增加首件确认"),
                  ("治具磨损", "更换治具并纳入点检"), ("包装防护不足", "增加缓冲材料")]


def write_capa(w: Writer, plant: Plant, truth_complaints: dict, received: dict) -> None:
    """CAPA records: one per planted cause (opened from an exposed complaint) plus routine ones."""
    spec = FileSpec("xlsx", "utf-8", "en", False, "excel")
    batch = {b.code: b for b in plant.batches}
    by_problem: dict[str, list] = {}
    for cid, t in truth_complaints.items():
        if not t["quarantined"] and t["distinct_complaint_id"] == cid:
            by_problem.setdefault(t["problem_type_code"], []).append((cid, t["true_batch_code"]))

    def exposed_batch(kind: str, c: dict, code: str) -> bool:
        b = batch[code]
        return {"equipment": code in c.get("batches", ()), "supplier_lot": code in c.get("batches", ()),
                "product_model": b.product[1] == c["suspect_id"], "shift": b.shift == c["suspect_id"],
                "operator": b.operator == c["suspect_id"]}.get(kind, True)

    items = []
    for kind, c in sorted(plant.causes.items()):
        hits = [x for x in by_problem.get(c["problem"], []) if exposed_batch(kind, c, x[1])]
        cid, bcode = hits[len(hits) // 2] if hits else (None, None)
        items.append((cid, bcode, c["note"], "8D 分析中，隔离可疑批次"))
    qd = sorted(x for k, v in by_problem.items() if k.startswith("QD") for x in v)
    for j in range(max(2, plant.sizes.days // 60)):
        cid, bcode = qd[(j * 7919) % len(qd)] if qd else (None, None)
        items.append((cid, bcode) + ROUTINE_CAUSES[j % len(ROUTINE_CAUSES)])
    statuses = ["open", "closed", "进行中", "已关闭", "in_progress", "处理中"]
    end = plant.span_end
    rows, last = [], end
    for i, (cid, bcode, cause, action) in enumerate(items):
        opened = (received[cid] + dt.timedelta(days=2, hours=i) if cid
                  else end - dt.timedelta(days=plant.sizes.days * max(0.05, 0.6 - 0.04 * i)))
        st = statuses[i % len(statuses)]
        closed = opened + dt.timedelta(days=12) if st in ("closed", "已关闭") else None
        last = max(last, closed or opened)
        ref = None
        if bcode:
            b = batch[bcode]
            ref = F.batch_qms(b.day, b.line, b.seq)
        rows.append([f"CAPA-{F.local(opened):%Y}-{i + 1:03d}", cid, ref, cause, action,
                     F.fmt_ts(opened.replace(microsecond=0), "excel"),
                     None if closed is None else F.fmt_ts(closed.replace(microsecond=0), "excel"), st])
    w.write("qms", "capa", (F.local(last) + dt.timedelta(days=1)).date(), spec, rows)
