"""Find delivered files under the exports root: `<system>/<entity>_<YYYYMMDD>[_<n>]<...>.<ext>`."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.lib.ingest.spec import EntitySpec, entity_specs

FORMATS = {"csv": "csv", "tsv": "tsv", "txt": "tsv", "xlsx": "xlsx", "jsonl": "jsonl"}
# entity, delivery date, optional sequence; anything after (" (副本)", " copy") is tolerated
_NAME = re.compile(r"^(?P<entity>[a-z][a-z0-9_]*?)_(?P<date>\d{8})(?:_(?P<n>\d+))?(?P<rest>[^.]*)"
                   r"\.(?P<ext>[a-z0-9]+)$")


@dataclass(frozen=True)
class DeliveredFile:
    """One file found under the exports root."""

    path: Path            # absolute
    rel_path: str         # relative to the exports root, POSIX separators
    system: str
    entity: str | None    # None: matches no entity of the dictionary
    delivered_on: str | None
    seq: int
    fmt: str | None       # csv, tsv, xlsx, jsonl
    size: int
    mtime: float
    problem: str | None = None  # why it matched no entity

    @property
    def sort_key(self) -> tuple:
        return (self.delivered_on or "", self.seq, self.rel_path)


def classify(rel_path: str, systems: dict[str, set[str]]) -> tuple[str | None, str | None, str | None, int, str | None, str | None]:
    """(system, entity, date, seq, fmt, problem) for a path relative to the exports root."""
    parts = rel_path.split("/")
    if len(parts) != 2 or parts[0] not in systems:
        return None, None, None, 0, None, "not in a system folder"
    system, name = parts
    key = unicodedata.normalize("NFKC", name).strip().lower()
    m = _NAME.match(key)
    if not m:
        return system, None, None, 0, None, \
            "name is not <entity>_<YYYYMMDD>[_<n>].<csv|tsv|txt|xlsx|jsonl>"
    fmt = FORMATS.get(m["ext"])
    if fmt is None:
        return system, None, None, 0, None, f"unsupported extension .{m['ext']}"
    if m["entity"] not in systems[system]:
        return system, None, None, 0, None, f"no entity {m['entity']!r} in {system}"
    return system, m["entity"], m["date"], int(m["n"] or 0), fmt, None


def discover(exports_root: str | os.PathLike, dictionary: Any) -> list[DeliveredFile]:
    """Every file under `<root>/<system>/`, sorted by delivery date; unmatched ones included
    with `entity=None` and a `problem`. Hidden files and Excel lock files (`~$...`) are skipped."""
    root = Path(exports_root)
    systems: dict[str, set[str]] = {}
    for spec in entity_specs(dictionary):
        systems.setdefault(spec.system, set()).add(spec.name)
    out: list[DeliveredFile] = []
    for system in sorted(systems):
        folder = root / system
        if not folder.is_dir():
            continue
        for p in sorted(folder.iterdir()):
            if p.name.startswith((".", "~$")) or not p.is_file():
                continue
            rel = f"{system}/{p.name}"
            _, entity, date, seq, fmt, problem = classify(rel, systems)
            st = p.stat()
            out.append(DeliveredFile(p.resolve(), rel, system, entity, date, seq, fmt,
                                     st.st_size, st.st_mtime, problem))
    out.sort(key=lambda f: f.sort_key)
    return out


def files_of(files: list[DeliveredFile], spec: EntitySpec) -> list[DeliveredFile]:
    return [f for f in files if f.system == spec.system and f.entity == spec.name]
