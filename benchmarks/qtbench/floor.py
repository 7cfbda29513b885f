"""The floor: DuckDB alone loading the same exports as UTF-8 csv.

`prepare_floor` converts, once and outside any timing, every export that is not already
UTF-8 csv/tsv (GBK/GB18030 text, xlsx, jsonl) into a UTF-8 csv; UTF-8 files are linked
as they are. `load_floor` (run in a child process by `python -m qtbench.floor DIR DB`)
reads every file with `read_csv(..., all_varchar=true)` into its own table of a fresh
database file and prints a JSON line with rows, tables and seconds.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

TEXT_EXT = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
UTF8 = ("utf-8", "utf-8-sig")
MANIFEST = "floor_manifest.json"


def detect_encoding(path: Path) -> str:
    """utf-8-sig / utf-8 if the bytes decode, else gb18030 (a superset of GBK)."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def _write_csv(rows, dest: Path) -> int:
    """Write rows (first = header) as UTF-8 csv; return the number of data rows."""
    n, width = -1, 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        for row in rows:
            cells = ["" if v is None else str(v) for v in row]
            width = width or len(cells)
            w.writerow(cells + [""] * (width - len(cells)))  # xlsx trims empty trailing cells
            n += 1
    return max(n, 0)


def xlsx_rows(path: Path):
    from openpyxl import load_workbook
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        yield from wb.worksheets[0].iter_rows(values_only=True)
    finally:
        wb.close()


def jsonl_rows(path: Path):
    """Header = union of keys in first-seen order; then one row per object.

    Lines that are not a JSON object (bad input on purpose) are skipped: the floor loads
    what parses, as read_csv(ignore_errors) would.
    """
    records = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            if line.strip():
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    records.append(obj)
    keys: dict[str, None] = {}
    for r in records:
        keys.update(dict.fromkeys(r))
    header = list(keys)
    if header:
        yield header
    for r in records:
        yield [r.get(k) for k in header]


def text_rows(path: Path, encoding: str, delim: str):
    with open(path, encoding=encoding, newline="") as f:
        yield from csv.reader(f, delimiter=delim)


def prepare_floor(exports: Path, dest: Path) -> dict:
    """Build `dest/` with one UTF-8 csv (or a link to one) per export file and a manifest."""
    dest.mkdir(parents=True, exist_ok=True)
    files = []
    for src in sorted(p for p in exports.rglob("*") if p.is_file()):
        rel = src.relative_to(exports)
        ext = src.suffix.lower()
        if rel.parts[0] not in ("erp", "mes", "qms", "crm"):
            continue
        if ext in TEXT_EXT and detect_encoding(src) in UTF8:
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.exists() or out.is_symlink():
                out.unlink()
            os.symlink(src.resolve(), out)
            delim, converted = TEXT_EXT[ext], False
        else:
            out = dest / rel.with_suffix(rel.suffix + ".csv")
            if ext in TEXT_EXT:
                rows = text_rows(src, detect_encoding(src), TEXT_EXT[ext])
            elif ext == ".xlsx":
                rows = xlsx_rows(src)
            elif ext == ".jsonl":
                rows = jsonl_rows(src)
            else:
                continue
            _write_csv(rows, out)
            delim, converted = ",", True
        if out.stat().st_size <= 2:
            continue  # empty delivery: nothing for read_csv to load
        files.append({"source": str(rel), "path": str(out.relative_to(dest)), "delim": delim,
                      "converted": converted})
    manifest = {"exports": str(exports), "files": files}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def load_floor(floor_dir: Path, db_path: Path) -> dict:
    """Load every floor file into its own table of a fresh DuckDB file; time it."""
    import duckdb
    manifest = json.loads((floor_dir / MANIFEST).read_text(encoding="utf-8"))
    for p in (db_path, db_path.with_name(db_path.name + ".wal")):
        if p.exists():
            p.unlink()
    t0 = time.monotonic()
    con = duckdb.connect(str(db_path))
    rows, errors = 0, []
    for i, f in enumerate(manifest["files"]):
        path = str(floor_dir / f["path"]).replace("'", "''")
        delim = f["delim"].replace("'", "''")
        table = f"t{i:05d}"
        base = (f"read_csv('{path}', all_varchar=true, header=true, delim='{delim}', "
                f"quote='\"', escape='\"'")
        try:
            con.execute(f"create table {table} as select * from {base})")
        except duckdb.Error as e:  # malformed on purpose (bad-input files): load what parses
            errors.append(f"{f['source']}: {str(e).splitlines()[0]}")
            con.execute(f"create or replace table {table} as select * from "
                        f"{base}, ignore_errors=true, null_padding=true)")
        rows += con.execute(f"select count(*) from {table}").fetchone()[0]
    con.close()
    seconds = time.monotonic() - t0
    return {"rows": rows, "tables": len(manifest["files"]), "seconds": round(seconds, 3),
            "errors": errors}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m qtbench.floor FLOOR_DIR DB_PATH", file=sys.stderr)
        return 2
    print(json.dumps(load_floor(Path(argv[0]), Path(argv[1]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
