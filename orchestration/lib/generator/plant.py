"""Simulate one plant: lines, machines, batches, lots (FIFO), serials, shipments, inspections.

Everything here is in memory and canonical (UTC naive datetimes, canonical codes);
`exports` prints it the way each system does.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from . import formats as F
from .reference import (
    CARRIERS,
    EQUIPMENT_TYPES,
    LINE_LAYOUT,
    MASS_MATERIALS,
    MATERIAL_SUPPLIERS,
    PRODUCTS,
    PROVINCE_WEIGHT,
    PROVINCES,
)

START_LOCAL = dt.datetime(2024, 1, 1)
SLOT_HOURS = 4  # six production slots a day: 00,04 night; 08,12 day; 16,20 swing
SLOT_SHIFT = ["night", "night", "day", "day", "swing", "swing"]

# planted causes (suspect ids must match what the marts will show)
CAUSE_LINE_EQUIPMENT = 2  # reflow oven of L02
CAUSE_LOT_MATERIAL = "M1301"
CAUSE_CARRIER = "德邦物流"
CAUSE_REGION = "西南"
CAUSE_MODEL = "QW-S2"
CAUSE_SHIFT = "night"
CAUSE_OPERATOR_LINE = 3


@dataclass
class Sizes:
    scale: float
    lines: int
    days: int
    batches: int
    shipments: int
    complaints: int
    readings: int
    customers: int
    periods: int

    @classmethod
    def of(cls, scale: float) -> Sizes:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        lines = 5 * max(1, math.ceil(scale)) if scale > 1 else 5
        days = 365 if scale >= 1 else max(14, round(365 * scale))
        return cls(scale=scale, lines=lines, days=days,
                   batches=max(100, round(10000 * scale)),
                   shipments=max(500, round(50000 * scale)),
                   complaints=max(400, round(20000 * scale)),
                   readings=max(20000, round(5_000_000 * scale)),
                   customers=max(80, round(800 * min(scale, 1) * max(1, scale))),
                   periods=12 if days >= 300 else 6)


@dataclass
class Equipment:
    equipment_id: str
    type_key: str
    line: int
    name: str


@dataclass
class Batch:
    code: str  # canonical
    day: dt.date
    line: int
    seq: int
    product: tuple
    shift: str
    operator: str
    start: dt.datetime  # UTC
    end: dt.datetime
    qty_produced: int
    qty_good: int
    work_order_no: str
    serial_start: int | None = None
    lots: list = field(default_factory=list)  # [(material_code, lot_code, qty)]


@dataclass
class Lot:
    lot_code: str
    material: str
    supplier: str
    supplier_lot: str
    qty: float
    received_at: dt.datetime
    receipt_no: str = ""
    line_no: int = 0


@dataclass
class ShipLine:
    shipment_no: str
    line_no: int
    sales_order_no: str
    customer: str
    province: tuple
    batch: Batch
    qty: int
    shipped_at: dt.datetime
    carrier: str
    promised: dt.date
    delivered_at: dt.datetime


@dataclass
class Plant:
    sizes: Sizes
    equipment: list[Equipment]
    specs: dict  # (type_key, parameter) -> (target, lsl, usl, unit); (equipment_id, parameter) overrides
    batches: list[Batch]
    lots: list[Lot]
    ship_lines: list[ShipLine]
    customers: dict  # code -> province tuple
    operators: dict  # line -> [operator ids]
    excursions: list = field(default_factory=list)  # [(equipment_id, parameter, start, end, [batch codes])]
    causes: dict = field(default_factory=dict)  # kind -> details
    inspections: list = field(default_factory=list)

    @property
    def span_end(self) -> dt.datetime:
        return START_LOCAL - F.TZ_OFFSET + dt.timedelta(days=self.sizes.days)


def product_lines(n_lines: int) -> dict[str, list[int]]:
    """Which lines make which product: each product on two lines."""
    out: dict[str, list[int]] = {p[0]: [] for p in PRODUCTS}
    for line in range(1, n_lines + 1):
        i = (line - 1) % 5
        for p in (PRODUCTS[2 * i], PRODUCTS[2 * i + 1], PRODUCTS[(2 * i + 2) % len(PRODUCTS)]):
            out[p[0]].append(line)
    return out


def build_equipment(n_lines: int) -> list[Equipment]:
    out = []
    for line in range(1, n_lines + 1):
        counts: dict[str, int] = {}
        for t in LINE_LAYOUT:
            counts[t] = counts.get(t, 0) + 1
            prefix, zh, _en, _ = EQUIPMENT_TYPES[t]
            eid = f"{prefix}-L{line:02d}-{counts[t]:02d}"
            out.append(Equipment(eid, t, line, f"{line}号线{zh}{counts[t]}"))
    return out


def build_specs(equipment: list[Equipment]) -> dict:
    specs = {}
    for t, (_p, _zh, _en, params) in EQUIPMENT_TYPES.items():
        for name, target, lsl, usl, unit in params:
            specs[(t, name)] = (target, lsl, usl, unit)
    # one machine-specific window: an older moulder runs hotter
    inj = next(e for e in equipment if e.type_key == "injection_moulder" and e.line == min(3, max(x.line for x in equipment)))
    specs[(inj.equipment_id, "temperature")] = (230.0, 215.0, 245.0, "℃")
    return specs


def spec_for(specs: dict, eq: Equipment, parameter: str) -> tuple:
    return specs.get((eq.equipment_id, parameter)) or specs[(eq.type_key, parameter)]


def simulate(sizes: Sizes, rng: np.random.Generator) -> Plant:
    equipment = build_equipment(sizes.lines)
    specs = build_specs(equipment)
    operators = {line: [f"OP{line:02d}{k:02d}" for k in range(1, 7)] for line in range(1, sizes.lines + 1)}
    batches = _batches(sizes, rng, operators)
    lots = _lots_fifo(batches, rng)
    customers = _customers(sizes, rng)
    ship_lines = _shipments(sizes, batches, customers, rng)
    plant = Plant(sizes, equipment, specs, batches, lots, ship_lines, customers, operators)
    _plant_excursions(plant, rng)
    _plant_causes(plant)
    return plant


def _batches(sizes: Sizes, rng, operators) -> list[Batch]:
    by_product = product_lines(sizes.lines)
    line_products = {line: [p for p in PRODUCTS if line in by_product[p[0]]] for line in range(1, sizes.lines + 1)}
    p_slot = min(1.0, sizes.batches / (sizes.lines * sizes.days * 6))
    serial_next = {p[0]: 100000 + 5000 * i for i, p in enumerate(PRODUCTS)}
    out = []
    for d in range(sizes.days):
        day = (START_LOCAL + dt.timedelta(days=d)).date()
        for line in range(1, sizes.lines + 1):
            slots = np.flatnonzero(rng.random(6) < p_slot)
            prods = line_products[line]
            product = prods[int(rng.integers(len(prods)))]
            for seq, s in enumerate(slots, start=1):
                s = int(s)
                start_local = dt.datetime.combine(day, dt.time()) + dt.timedelta(
                    hours=SLOT_HOURS * s, minutes=int(rng.integers(5, 40)))
                end_local = dt.datetime.combine(day, dt.time()) + dt.timedelta(
                    hours=SLOT_HOURS * (s + 1), minutes=-int(rng.integers(5, 40)))
                produced = int(np.clip(rng.normal(250, 50), 100, 400))
                good = produced - int(rng.binomial(produced, 0.015))
                op = operators[line][int(rng.integers(6))]
                b = Batch(code=F.canonical_batch(day, line, seq), day=day, line=line, seq=seq, product=product,
                          shift=SLOT_SHIFT[s], operator=op, start=start_local - F.TZ_OFFSET,
                          end=end_local - F.TZ_OFFSET, qty_produced=produced, qty_good=good,
                          work_order_no=f"WO{day:%y%m%d}{line:02d}{seq:03d}")
                if product[4]:
                    b.serial_start = serial_next[product[0]]
                    serial_next[product[0]] += produced
                out.append(b)
    return out


def _round_up(x: float, step: float) -> float:
    return math.ceil(x / step) * step


def _lots_fifo(batches: list[Batch], rng) -> list[Lot]:
    """Receive each material in lots sized to its demand, then consume them FIFO by receipt."""
    demand: dict[str, list[tuple[Batch, float]]] = {}
    for b in batches:  # batches are in start order per day; sort for a global order
        pass
    ordered = sorted(batches, key=lambda b: (b.start, b.line))
    for b in ordered:
        for mat, per_unit in b.product[5]:
            q = per_unit * b.qty_produced
            q = round(q * 1.01, 3) if mat in MASS_MATERIALS else math.ceil(q * 1.005)
            demand.setdefault(mat, []).append((b, q))
    lots: list[Lot] = []
    day_counter: dict[dt.date, int] = {}
    for mat in sorted(demand):
        uses = demand[mat]
        n_lots = max(6, min(60, len(uses) // 8))
        total = sum(q for _, q in uses)
        weights = rng.uniform(0.8, 1.2, n_lots)
        bounds = np.cumsum(weights / weights.sum() * total)
        step = 5.0 if mat in MASS_MATERIALS else 100.0
        suppliers = MATERIAL_SUPPLIERS[mat]
        # first-use time of each lot: find by cumulative demand
        cum = 0.0
        first_use: list[dt.datetime | None] = [None] * n_lots
        k = 0
        for b, q in uses:
            while k < n_lots - 1 and cum >= bounds[k]:
                k += 1
            if first_use[k] is None:
                first_use[k] = b.start
            cum += q
        prev_rec = None
        mat_lots = []
        prev_bound = 0.0
        for i in range(n_lots):
            fu = first_use[i] or (mat_lots[-1].received_at + dt.timedelta(days=3) if mat_lots else uses[0][0].start)
            rec = fu - dt.timedelta(days=float(rng.uniform(1, 7)))
            if prev_rec is not None and rec <= prev_rec:
                rec = prev_rec + dt.timedelta(minutes=30)
            rec = rec.replace(microsecond=0, second=0)
            prev_rec = rec
            size = bounds[i] - prev_bound + (total * 0.02 if i == n_lots - 1 else 0)
            prev_bound = bounds[i]
            qty = _round_up(size, step)
            day = F.local(rec).date()
            day_counter[day] = day_counter.get(day, 0) + 1
            sup = suppliers[0] if len(suppliers) == 1 else suppliers[int(rng.random() < 0.45)]
            code = f"ML{day:%y%m%d}{day_counter[day]:04d}"
            mat_lots.append(Lot(code, mat, sup, f"{sup[1:]}-{day:%y%m%d}-{chr(65 + i % 26)}", qty, rec))
        # FIFO consumption
        li, left = 0, mat_lots[0].qty
        for b, q in uses:
            need = q
            while need > 1e-9:
                if left <= 1e-9 and li < len(mat_lots) - 1:
                    li += 1
                    left = mat_lots[li].qty
                take = need if (li == len(mat_lots) - 1 or need <= left) else left
                take = round(take, 3) if mat in MASS_MATERIALS else round(take)
                if take <= 0:
                    break
                b.lots.append((mat, mat_lots[li].lot_code, take))
                left -= take
                need -= take
        lots.extend(mat_lots)
    lots.sort(key=lambda lo: (lo.received_at, lo.lot_code))
    # receipts: one receipt per receiving day, lines in time order
    rec_no: dict[dt.date, tuple[str, int]] = {}
    for lo in lots:
        day = F.local(lo.received_at).date()
        no, n = rec_no.get(day, (f"RK{day:%y%m%d}01", 0))
        rec_no[day] = (no, n + 1)
        lo.receipt_no, lo.line_no = no, n + 1
    return lots


def _customers(sizes: Sizes, rng) -> dict:
    weights = np.array([PROVINCE_WEIGHT.get(p[0], 1.5) for p in PROVINCES], dtype=float)
    weights /= weights.sum()
    idx = rng.choice(len(PROVINCES), size=sizes.customers, p=weights)
    # make sure every macro-region has customers
    for r, region in enumerate(["华北", "东北", "华东", "华中", "华南", "西南", "西北"]):
        first = next(i for i, p in enumerate(PROVINCES) if p[4] == region)
        idx[r] = first
    return {f"C{100 + i:06d}": PROVINCES[int(k)] for i, k in enumerate(idx)}


def _shipments(sizes: Sizes, batches: list[Batch], customers: dict, rng) -> list[ShipLine]:
    """Split each batch's good units over shipment lines; one shipment per customer and day."""
    codes = list(customers)
    n_b = len(batches)
    ks = np.maximum(1, rng.poisson(sizes.shipments / n_b, n_b))
    to_ship = (np.array([b.qty_good for b in batches]) * rng.uniform(0.9, 1.0, n_b)).astype(int)
    ks = np.minimum(ks, np.maximum(1, to_ship // 10))
    total = int(ks.sum())
    offsets = rng.uniform(0.3, 10, total)
    cust_idx = rng.integers(len(codes), size=total)
    raw = []  # (ship_day_local, customer, batch, qty)
    j = 0
    for b, k, n in zip(batches, ks.tolist(), to_ship.tolist()):
        parts = rng.multinomial(n - k, np.full(k, 1.0 / k)) + 1
        end_local = F.local(b.end)
        for q in parts.tolist():
            day = (end_local + dt.timedelta(days=float(offsets[j]))).date()
            raw.append((day, codes[int(cust_idx[j])], b, q))
            j += 1
    raw.sort(key=lambda r: (r[0], r[1], r[2].code))
    keys = sorted({(r[0], r[1]) for r in raw})
    g = len(keys)
    hours = rng.uniform(9, 18, g)
    carriers = rng.choice(len(CARRIERS), size=g, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.1])
    promised_days = rng.integers(2, 6, g)
    transit = rng.gamma(3.0, 0.9, g) + np.where(rng.random(g) < 0.08, rng.uniform(2, 6, g), 0.0)
    groups = {}
    n_per_day: dict[dt.date, int] = {}
    for i, (day, _cust) in enumerate(keys):
        n_per_day[day] = n_per_day.get(day, 0) + 1
        n = n_per_day[day]
        shipped = (dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=float(hours[i]))
                   - F.TZ_OFFSET).replace(microsecond=0)
        groups[keys[i]] = {"no": f"FH{day:%y%m%d}{n:04d}", "so": f"SO{day:%y%m%d}{n:04d}", "shipped": shipped,
                           "carrier": CARRIERS[int(carriers[i])],
                           "promised": day + dt.timedelta(days=int(promised_days[i])),
                           "delivered": (shipped + dt.timedelta(days=float(transit[i]))).replace(microsecond=0),
                           "line": 0}
    out: list[ShipLine] = []
    for day, cust, b, q in raw:
        grp = groups[(day, cust)]
        grp["line"] += 1
        out.append(ShipLine(grp["no"], grp["line"], grp["so"], cust, customers[cust], b, q, grp["shipped"],
                            grp["carrier"], grp["promised"], grp["delivered"]))
    return out


def _plant_excursions(plant: Plant, rng) -> None:
    """Reflow-oven temperature excursions on the cause line, each inside one running batch."""
    line = min(CAUSE_LINE_EQUIPMENT, plant.sizes.lines)
    eq = next(e for e in plant.equipment if e.line == line and e.type_key == "reflow_oven")
    line_batches = [b for b in plant.batches if b.line == line]
    n = max(3, round(len(line_batches) * 0.012))
    chosen = sorted(rng.choice(len(line_batches), size=min(n, len(line_batches)), replace=False))
    for i in chosen:
        b = line_batches[int(i)]
        start = (b.start + dt.timedelta(minutes=int(rng.integers(30, 60)))).replace(second=0)
        end = start + dt.timedelta(minutes=int(rng.integers(90, 150)))
        end = min(end, b.end - dt.timedelta(minutes=5))
        codes = [x.code for x in line_batches if x.start < end and x.end > start]
        plant.excursions.append((eq.equipment_id, "temperature", start, end, codes))


def _plant_causes(plant: Plant) -> None:
    """Which shipment lines each planted cause exposes, and its suspect id."""
    exc_batches = {c for *_x, codes in plant.excursions for c in codes}
    lots_m = sorted((lo for lo in plant.lots if lo.material == CAUSE_LOT_MATERIAL), key=lambda lo: lo.received_at)
    bad_lot = lots_m[len(lots_m) // 2]
    op_line = min(CAUSE_OPERATOR_LINE, plant.sizes.lines)
    operator = plant.operators[op_line][3]
    lot_batches = {b.code for b in plant.batches if any(l == bad_lot.lot_code for _m, l, _q in b.lots)}
    eq_id = plant.excursions[0][0]
    plant.causes = {
        "equipment": {"suspect_id": eq_id, "problem": "QD04", "lift": 12.0,
                          "batches": exc_batches,
                          "note": f"{eq_id} temperature excursions above the reflow window; batches on its line during them overheat"},
        "supplier_lot": {"suspect_id": bad_lot.lot_code, "problem": "QD09", "lift": 10.0, "batches": lot_batches,
                             "note": f"battery lot {bad_lot.lot_code} (supplier {bad_lot.supplier}, "
                                  f"supplier lot {bad_lot.supplier_lot}) swells"},
        "carrier": {"suspect_id": CAUSE_CARRIER, "problem": "DL02", "lift": 15.0, "region": CAUSE_REGION,
                        "note": f"{CAUSE_CARRIER} crushes parcels on routes to {CAUSE_REGION}"},
        "product_model": {"suspect_id": CAUSE_MODEL, "problem": "FN04", "lift": 10.0,
                              "note": f"firmware of model {CAUSE_MODEL} crashes"},
        "shift": {"suspect_id": CAUSE_SHIFT, "problem": "QD01", "lift": 8.0,
                      "note": "night shift handles housings roughly: scratches"},
        "operator": {"suspect_id": operator, "problem": "QD08", "lift": 10.0,
                         "note": f"operator {operator} on L{op_line:02d} mis-seats connectors"},
    }


def exposed(plant: Plant, kind: str, sl: ShipLine) -> bool:
    c = plant.causes[kind]
    if kind in ("equipment", "supplier_lot"):
        return sl.batch.code in c["batches"]
    if kind == "carrier":
        return sl.carrier == c["suspect_id"] and sl.province[4] == c["region"]
    if kind == "product_model":
        return sl.batch.product[1] == c["suspect_id"]
    if kind == "shift":
        return sl.batch.shift == c["suspect_id"]
    if kind == "operator":
        return sl.batch.operator == c["suspect_id"]
    raise KeyError(kind)
