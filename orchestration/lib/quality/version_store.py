"""What the gate keeps per delivered file version between runs (a JSON file under
`<home>/state/`): counts computed once per version, since a landed or conformed version's rows
do not change. Subclasses say what they count (`MissingCountStore`, `DuplicateKeyStore`)."""

from __future__ import annotations

import json
import os
from pathlib import Path


class VersionStore:
    LOGIC = "override"  # bump in a subclass when its counting changes: the file is ignored

    def __init__(self, path: Path):
        self.path = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self.tables: dict = data.get("tables", {}) if data.get("logic") == self.LOGIC else {}
        self.seen: dict[str, set] = {}

    def _remember(self, rel: str, versions) -> None:
        """The versions now in `rel`: the others are forgotten when the store is saved."""
        self.seen[rel] = set(versions)

    def save(self) -> None:
        for rel, keys in self.seen.items():
            held = self.tables.get(rel, {})
            for k in [k for k in held if k not in keys]:
                del held[k]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"logic": self.LOGIC, "tables": self.tables}),
                       encoding="utf-8")
        os.replace(tmp, self.path)


_OPEN: dict[tuple[type, str], VersionStore] = {}


def home_store(cls: type[VersionStore], home: Path, file_name: str) -> VersionStore:
    """The `cls` store of a home (`<home>/state/<file_name>`), read once per process and
    kept until `save_home_stores`."""
    path = home / "state" / file_name
    if (cls, str(path)) not in _OPEN:
        _OPEN[(cls, str(path))] = cls(path)
    return _OPEN[(cls, str(path))]


def save_home_stores() -> None:
    """Save every store this process opened."""
    for store in _OPEN.values():
        store.save()
