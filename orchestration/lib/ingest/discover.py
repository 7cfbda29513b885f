"""Find delivered files under the exports root: `<system>/<entity>_<YYYYMMDD>[_<n>]<...>.<ext>`."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.lib.ingest.spec import EntitySpec, entity_specs

# .xls (Excel 97-2003, still what many ERP export buttons write) beside the contract's formats
FORMATS = {"csv": "csv", "tsv": "tsv", "txt": "tsv", "xlsx": "xlsx", "xls": "xls", "jsonl": "jsonl"}
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
    reason: str | None = None   # the quarantine reason code when it matched no entity
    ctime: float = 0.0          # inode change time: any write changes it, even one that
                                # restores the size and mtime (so together they skip hashing)

    @property
    def sort_key(self) -> tuple:
        return (self.delivered_on or "", self.seq, self.rel_path)


_COPY = re.compile(r"[(](\d+)[)]")


def copy_number(rest: str) -> int:
    """The copy a file name marks after its date: ` (2)` -> 2, `_副本` / ` - copy` -> 1, else 0.
    Mirrored by the dbt macro `file_order_key`."""
    m = _COPY.search(rest)
    if m:
        return int(m.group(1))
    return 1 if ("副本" in rest or "copy" in rest) else 0


def order_key(name: str) -> str | None:
    """'YYYYMMDD-nnnnnn' of a delivered file name (full-width folded, lower case): the
    delivery date, then the sequence `_<n>` or else the copy number; None when the name has
    no date. One parser for Python and SQL (`file_order_key`, parity-tested)."""
    m = _NAME.match(unicodedata.normalize("NFKC", name).strip().lower())
    if not m:
        return None
    seq = int(m["n"]) if m["n"] else copy_number(m["rest"])
    return f"{m['date']}-{seq:06d}"


def _real_date(yyyymmdd: str) -> bool:
    import datetime as dt

    try:
        dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return True


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
            "name is not <entity>_<YYYYMMDD>[_<n>].<csv|tsv|txt|xlsx|xls|jsonl>"
    fmt = FORMATS.get(m["ext"])
    if fmt is None:
        return system, None, None, 0, None, f"unsupported extension .{m['ext']}"
    if m["entity"] not in systems[system]:
        return system, None, None, 0, None, f"no entity {m['entity']!r} in {system}"
    if not _real_date(m["date"]):
        return system, None, None, 0, None, \
            f"delivery date {m['date']} in the name is no real date"
    seq = int(m["n"]) if m["n"] else copy_number(m["rest"])
    return system, m["entity"], m["date"], seq, fmt, None


def discover(exports_root: str | os.PathLike, dictionary: Any) -> list[DeliveredFile]:
    """Every path under the exports root, sorted by delivery date. Files directly in a
    system folder (`erp/`, `CRM/`: the folder name is matched case-insensitively) that name
    an entity are deliveries; every other path comes back with `entity=None`, a `problem`
    and a quarantine `reason`, so nothing under the root is silent: files at the root or in
    subfolders and folders named like an export (`unexpected_location`), names matching no
    entity (`unknown_entity`), dangling links (`dangling_link`) and links leaving the root
    (`outside_root`, never read). Hidden files and Excel lock files (`~$...`) are skipped."""
    root = Path(exports_root)
    systems: dict[str, set[str]] = {}
    for spec in entity_specs(dictionary):
        systems.setdefault(spec.system, set()).add(spec.name)
    if not root.is_dir():
        return []
    real_root = os.path.realpath(root)
    out: list[DeliveredFile] = []

    def odd(p: Path, rel: str, system: str, reason: str, problem: str) -> None:
        try:
            st = p.lstat()
            size, mtime = st.st_size, st.st_mtime
        except OSError:
            size, mtime = 0, 0.0
        out.append(DeliveredFile(p, rel, system, None, None, 0, None, size, mtime,
                                 problem, reason))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        depth = 0 if rel_dir == "." else rel_dir.count("/") + 1
        top = _system_of(rel_dir.split("/")[0], systems) if depth else None
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in list(dirnames):
            p, rel = here / d, (f"{rel_dir}/{d}" if depth else d)
            if p.is_symlink():  # never followed; a link to a folder is no delivery
                dirnames.remove(d)
                _link(p, rel, top or "", real_root, odd)
            elif depth == 1 and _NAME.match(unicodedata.normalize("NFKC", d).lower()):
                odd(p, rel + "/", top or "", E_UNEXPECTED,
                    "a folder named like an export file (its files are listed on their own)")
        for name in sorted(filenames):
            if name.startswith((".", "~$")):
                continue
            p, rel = here / name, (f"{rel_dir}/{name}" if depth else name)
            if p.is_symlink() and _link(p, rel, top or "", real_root, odd):
                continue
            if not p.is_file():
                odd(p, rel, top or "", E_UNEXPECTED, "not a regular file")
            elif depth == 0 and name.rsplit(".", 1)[-1].lower() not in FORMATS:
                # a note beside the exports (README, the generator's truth.json): listed only
                odd(p, rel, "", None, "beside the exports, not an export file")
            elif depth == 0:
                odd(p, rel, "", E_UNEXPECTED,
                    f"at the exports root, not in a system folder ({', '.join(sorted(systems))})")
            elif top is None:
                odd(p, rel, "", E_UNEXPECTED, f"folder {rel_dir.split('/')[0]!r} is no system "
                                              f"folder ({', '.join(sorted(systems))})")
            elif depth > 1:
                odd(p, rel, top, E_UNEXPECTED, f"in a subfolder of {top}/ (exports are read "
                                               f"directly from the system folder)")
            else:
                _, entity, date, seq, fmt, problem = classify(f"{top}/{name}", systems)
                st = p.stat()
                reason = None if entity else (
                    E_BAD_DATE if problem and "no real date" in problem else E_UNKNOWN)
                out.append(DeliveredFile(p.resolve(), rel, top, entity, date, seq, fmt,
                                         st.st_size, st.st_mtime, problem, reason, st.st_ctime))
    out.sort(key=lambda f: f.sort_key)
    return out


E_UNEXPECTED, E_UNKNOWN, E_BAD_DATE = "unexpected_location", "unknown_entity", "invalid_file_date"


def _system_of(folder: str, systems: dict[str, set[str]]) -> str | None:
    key = unicodedata.normalize("NFKC", folder).strip().lower()
    return key if key in systems else None


def _link(p: Path, rel: str, system: str, real_root: str, odd) -> bool:
    """Record a symbolic link that is not a delivery (True), without reading its target."""
    target = os.path.realpath(p)
    if not os.path.exists(target):
        odd(p, rel, system, "dangling_link", "a symbolic link whose target does not exist")
        return True
    if os.path.commonpath([real_root, target]) != real_root:
        odd(p, rel, system, "outside_root",
            "a symbolic link leaving the exports root (refused, not read)")
        return True
    if os.path.isdir(target):
        odd(p, rel, system, E_UNEXPECTED, "a symbolic link to a folder (not followed)")
        return True
    return False


def files_of(files: list[DeliveredFile], spec: EntitySpec) -> list[DeliveredFile]:
    return [f for f in files if f.system == spec.system and f.entity == spec.name]
