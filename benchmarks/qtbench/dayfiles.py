"""One new day of deliveries, for the incremental benchmark.

For every entity delivered over time (not master data), take the latest good delivery,
keep its header, format and encoding, and write a day's share of its rows
(rows / days the file covers, from the tail, which is the latest day) as a new file dated
the day after the last delivery. Process readings are shifted one day forward so they
carry new business keys (equipment_id + ts + parameter); the other entities' rows keep
their keys and so arrive as that day's changed rows, which supersede the earlier ones.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from pathlib import Path

from .floor import TEXT_EXT, detect_encoding, xlsx_rows

NAME = re.compile(r"^(?P<entity>[a-z_]+)_(?P<day>\d{8})(?:_(?P<n>\d+))?\.(?P<ext>\w+)$")
TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_name(path: Path) -> tuple[str, dt.date] | None:
    m = NAME.match(path.name)
    if not m:
        return None
    return m["entity"], dt.datetime.strptime(m["day"], "%Y%m%d").date()


def shift_ts(value: str, days: int = 1) -> str:
    """`2024-03-15 14:02:11` moved `days` forward; anything else unchanged."""
    try:
        return (dt.datetime.strptime(value, TS_FORMAT) + dt.timedelta(days=days)).strftime(TS_FORMAT)
    except (TypeError, ValueError):
        return value


def _skip_paths(exports: Path) -> set[str]:
    """Files the generator made bad or re-delivered on purpose (from truth.json)."""
    truth_path = exports / "truth.json"
    if not truth_path.exists():
        return set()
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    skip = {f["path"] for f in truth.get("quarantine", {}).get("files", [])}
    skip.update(r["path"] for r in truth.get("redelivered_files", []) if isinstance(r, dict))
    return skip


def plan_day(exports: Path) -> tuple[dt.date, list[tuple[Path, float]]]:
    """The new file date and, per periodic entity, (latest good file, days it covers)."""
    skip = _skip_paths(exports)
    by_entity: dict[tuple[str, str], list[tuple[dt.date, Path]]] = {}
    last_day = dt.date.min
    for p in sorted(exports.glob("*/*")):
        parsed = parse_name(p)
        if not parsed or not p.is_file():
            continue
        entity, day = parsed
        last_day = max(last_day, day)
        rel = p.relative_to(exports).as_posix()
        if rel in skip or p.stat().st_size <= 2:
            continue
        by_entity.setdefault((p.parent.name, entity), []).append((day, p))
    plan = []
    for (_system, _entity), files in sorted(by_entity.items()):
        days = sorted({d for d, _ in files})
        if len(days) < 2:
            continue  # master data: delivered once
        latest = max(files, key=lambda f: (f[0], f[1].name))
        covers = max(1, (days[-1] - days[-2]).days)
        plan.append((latest[1], covers))
    return last_day + dt.timedelta(days=1), plan


_KEY = re.compile(r"^(\D*)(\d+)$")


def new_keys(values: list, taken: list) -> dict:
    """New business keys for `values`, none among `taken`: `CS0000006` becomes `CS0012351`
    when the largest key taken is `CS0012345` (the number plus that largest number, the width
    kept); a key without a trailing number gets `-N`."""
    top = max((int(m[2]) for v in taken if (m := _KEY.match(str(v)))), default=0)
    out = {}
    for v in values:
        m = _KEY.match(str(v))
        out[v] = f"{m[1]}{int(m[2]) + top:0{len(m[2])}d}" if m else f"{v}-N"
    return out


def _rekey_rows(rows: list[list], taken: list[list]) -> list[list]:
    keys = new_keys([r[0] for r in rows if r], [r[0] for r in taken if r])
    return [[keys[r[0]]] + list(r[1:]) if r else r for r in rows]


def _tail_text(src: Path, dest: Path, covers: float, shift_col: str | None,
               rekey: bool = False) -> int:
    enc = detect_encoding(src)
    delim = TEXT_EXT[src.suffix.lower()]
    with open(src, encoding=enc, newline="") as f:
        rows = list(csv.reader(f, delimiter=delim))
    header, body = rows[0], rows[1:]
    k = math.ceil(len(body) / covers)
    tail = body[len(body) - k:]
    if shift_col and shift_col in header:
        i = header.index(shift_col)
        tail = [r[:i] + [shift_ts(r[i])] + r[i + 1:] if len(r) > i else r for r in tail]
    if rekey:
        tail = _rekey_rows(tail, body)
    with open(dest, "w", encoding=enc, newline="") as f:
        csv.writer(f, delimiter=delim, lineterminator="\n").writerows([header] + tail)
    return len(tail)


def _tail_jsonl(src: Path, dest: Path, covers: float, rekey: bool = False) -> int:
    lines = [ln for ln in src.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
    k = math.ceil(len(lines) / covers)
    tail = lines[len(lines) - k:]
    if rekey:  # the first key of each record is its business key
        records = [json.loads(ln) for ln in tail]
        first = [next(iter(r)) for r in records]
        keys = new_keys([r[f] for r, f in zip(records, first, strict=True)],
                        [next(iter(json.loads(ln).values())) for ln in lines])
        tail = [json.dumps({**r, f: keys[r[f]]}, ensure_ascii=False)
                for r, f in zip(records, first, strict=True)]
    dest.write_text("".join(ln + "\n" for ln in tail), encoding="utf-8")
    return len(tail)


def _tail_xlsx(src: Path, dest: Path, covers: float, rekey: bool = False) -> int:
    from openpyxl import Workbook
    rows = list(xlsx_rows(src))
    header, body = rows[0], rows[1:]
    k = math.ceil(len(body) / covers)
    tail = body[len(body) - k:]
    if rekey:
        tail = _rekey_rows(tail, body)
    wb = Workbook()
    ws = wb.active
    for r in [header] + tail:
        ws.append(list(r))
    wb.save(dest)
    return k


def _write_share(src: Path, covers: float, day: dt.date, exports: Path,
                 rekey: bool = False) -> dict | None:
    entity, _ = parse_name(src)
    dest = src.with_name(f"{entity}_{day:%Y%m%d}{src.suffix}")
    ext = src.suffix.lower()
    if ext in TEXT_EXT:
        n = _tail_text(src, dest, covers, "ts" if entity == "process_readings" else None,
                       rekey)
    elif ext == ".jsonl":
        n = _tail_jsonl(src, dest, covers, rekey)
    elif ext == ".xlsx":
        n = _tail_xlsx(src, dest, covers, rekey)
    else:
        return None
    return {"path": dest.relative_to(exports).as_posix(), "rows": n,
            "from": src.relative_to(exports).as_posix()}


def write_single_file(exports: Path, entity: str = "complaints") -> dict:
    """One new file of `entity` only, dated the day after the last delivery: what a CRM drop
    through the day looks like. Its rows are a day's share of the latest delivery with new
    business keys (the first column, beyond every key of that delivery): new records, never a
    copy of a file already delivered (after `write_day`, the latest delivery is one day, and
    its share would be the same bytes: a duplicate delivery that lands nothing). Returns
    {day, files: [{path, rows}], rows}."""
    day, plan = plan_day(exports)
    for src, covers in plan:
        if parse_name(src)[0] == entity:
            written = _write_share(src, covers, day, exports, rekey=True)
            if written:
                return {"day": day.isoformat(), "files": [written], "rows": written["rows"]}
    raise ValueError(f"no periodic delivery of {entity} under {exports}")


def write_day(exports: Path) -> dict:
    """Write the new day's files into `exports`; return {day, files: [{path, rows}], rows}."""
    day, plan = plan_day(exports)
    written = [w for src, covers in plan if (w := _write_share(src, covers, day, exports))]
    return {"day": day.isoformat(), "files": written, "rows": sum(f["rows"] for f in written)}
