"""Plain-text rendering of `qualitrace trace` / `where-used` results (pure functions)."""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Iterable
from typing import Any

NONE = "-"
MAX_ROWS = 25


def fmt(value: Any) -> str:
    """One value as shown to a person: timestamps to the minute, floats short, NULL as '-'."""
    if value is None:
        return NONE
    if isinstance(value, float):
        if math.isnan(value):
            return NONE
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def width(text: str) -> int:
    """Display width: East Asian wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, cells: int) -> str:
    return text + " " * max(0, cells - width(text))


def _section(title: str) -> str:
    return f"\n{title}\n{'-' * len(title)}\n"


def _pairs(items: Iterable[tuple[str, Any]]) -> str:
    items = list(items)
    width = max((len(k) for k, _ in items), default=0)
    return "".join(f"  {k.ljust(width)}  {fmt(v)}\n" for k, v in items)


def _table(rows: list[dict], columns: list[str], limit: int = MAX_ROWS) -> str:
    if not rows:
        return "  (none)\n"
    shown = rows[:limit]
    cells = [[fmt(r.get(c)) for c in columns] for r in shown]
    widths = [max(width(c), *(width(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  " + "  ".join(pad(c, w) for c, w in zip(columns, widths)).rstrip()]
    lines.append("  " + "  ".join("-" * w for w in widths))
    lines += ["  " + "  ".join(pad(v, w) for v, w in zip(row, widths)).rstrip() for row in cells]
    if len(rows) > limit:
        lines.append(f"  ... {len(rows) - limit} more (use --json for all)")
    return "\n".join(lines) + "\n"


def _split(csv: str | None) -> str:
    return ", ".join(csv.split(",")) if csv else NONE


def render_trace(t) -> str:
    """The backward chain of one complaint, section by section."""
    c, b = t.complaint, t.batch
    out = [f"Complaint {c['complaint_id']}  [times UTC]"]
    if t.matched_duplicate:
        out.append(f"  ({t.matched_duplicate} is a duplicate entry of this complaint)")
    out.append("\n")
    out.append(_pairs([
        ("duplicate ids", _split(c.get("duplicate_ids"))),
        ("received", c.get("received_at")),
        ("status", c.get("status")),
        ("problem", (f"{fmt(c.get('problem_type_code'))} ({fmt(c.get('problem_category'))}), "
                    f"severity {fmt(c.get('severity'))}")),
        ("province", f"{fmt(c.get('province_code'))} {fmt(c.get('region'))}"),
        ("product", f"{fmt(c.get('product_code'))} model {fmt(c.get('product_model'))}"),
    ]))
    out.append(_section("Batch"))
    if not c.get("batch_code"):
        out.append(f"  no batch could be derived (trace method: {fmt(c.get('trace_method'))}; "
                   f"typed: {fmt(c.get('batch_code_typed'))})\n")
        return "".join(out)
    out.append(_pairs([
        ("batch", c["batch_code"]),
        ("found by", c.get("trace_method")),
        ("produced", f"{fmt(c.get('batch_start'))} .. {fmt(c.get('batch_end'))}"),
        ("work order", c.get("work_order_no")),
        ("units produced / shipped", (f"{fmt((b or {}).get('units_produced'))} / "
                                     f"{fmt((b or {}).get('units_shipped'))}")),
        ("complaints on batch / ppm", (f"{fmt((b or {}).get('complaints'))} / "
                                      f"{fmt((b or {}).get('complaint_ppm'))}")),
        ("FQC passed", c.get("fqc_passed")),
        ("inspection failures", c.get("inspection_failures")),
        ("risk score", (b or {}).get("risk_score")),
    ]))
    out.append(_section("Line, shift, operator"))
    out.append(_pairs([("line", c.get("line")), ("shift", c.get("shift")),
                       ("operator", c.get("operator_id"))]))
    out.append(_section("Machines and excursions"))
    out.append(_pairs([
        ("machines on line", _split(c.get("equipment_ids"))),
        ("excursions during batch", c.get("excursion_count")),
        ("machines with excursions", _split(c.get("excursion_equipment_ids"))),
        ("excursions by machine", c.get("excursion_summary")),
    ]))
    out.append(f"  SPC rule violations while the batch ran: {len(t.spc)}\n")
    if t.spc:
        out.append(_table(t.spc, ["equipment_id", "parameter", "rule", "window_start",
                                  "window_end"]))
    out.append(_section("Material lots -> suppliers"))
    out.append(_pairs([("material lots", _split(c.get("material_lots"))),
                       ("suppliers", _split(c.get("supplier_codes")))]))
    out.append(_section("Shipment"))
    out.append(_pairs([("shipment", c.get("shipment_no")), ("carrier", c.get("carrier")),
                       ("shipped", c.get("shipped_at"))]))
    out.append(_section(f"Other complaints on batch {c['batch_code']} ({len(t.same_batch)})"))
    out.append(_table(t.same_batch, ["complaint_id", "received_at", "problem_type_code",
                                     "severity", "status", "province_code"]))
    return "".join(out)


PAGE = 50  # rows per section in text output (--limit; 0 = all; --json is never cut)


def render_forward(f, limit: int | None = None) -> str:
    """Where a lot, supplier, batch or machine went: totals, batches, shipments, customers.
    Each list shows its first `limit` rows (PAGE by default; 0 shows all)."""
    limit = PAGE if limit is None else limit
    window = ""
    if f.date_from or f.date_to:
        window = f" ({f.window_on} {fmt(f.date_from) if f.date_from else '...'} .. " \
                 f"{fmt(f.date_to) if f.date_to else '...'})"
    tot = f.totals
    out = [f"Where used: {f.kind} {f.suspect_id}{window}  [times UTC]\n"]
    if getattr(f, "scope", ""):
        out.append(f"Traced: {f.scope}\n")
    out.append(_section("Units at risk"))
    out.append(_pairs([
        ("batches", tot.get("batches")), ("shipments", tot.get("shipments")),
        ("customers", tot.get("customers")), ("provinces", tot.get("provinces")),
        ("units at risk (shipped)", tot.get("units_at_risk")),
        ("first / last shipped", (f"{fmt(tot.get('first_shipped'))} / "
                                 f"{fmt(tot.get('last_shipped'))}")),
    ]))
    cols = ["batch_code", "product_code", "line", "batch_start", "units_produced",
            "shipments", "units_at_risk"]
    if f.suspect_kind == "equipment":
        cols.insert(5, "excursion_count")
    for title, rows, columns in (
            ("Batches", f.batches, cols),
            ("Shipments", f.shipments, ["shipment_no", "shipped_at", "customer_code",
                                        "province_code", "carrier", "units_at_risk",
                                        "batch_codes"]),
            ("Customers", f.customers, ["customer_code", "shipments", "units_at_risk",
                                        "provinces"]),
            ("Provinces", f.provinces, ["province_code", "region", "customers",
                                        "units_at_risk"])):
        out.append(_section(f"{title} ({len(rows)})"))
        shown = rows if limit <= 0 else rows[:limit]
        out.append(_table(shown, columns))
        if len(shown) < len(rows):
            out.append(f"  ... {len(rows) - len(shown)} more {title.lower()} "
                       f"(--limit 0 shows all, --json prints everything)\n")
    return "".join(out)
