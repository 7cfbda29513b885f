"""Duplicate keys per delivered file version, kept between runs, for the gate's `unique` checks
whose key includes `_source_file` (a business key unique within each delivered file).

Such a key can only repeat inside one file, and a conformed file version's rows do not change
until the file is re-delivered or the conformance changes. So each version's duplicates are
counted once and kept in `<home>/state/duplicate_keys.json`; a run counts only the versions
it has not seen (a new day's files), and the verdict, the counts and the sample of
duplicated keys are those of one scan of the whole table (tests/test_duplicate_key_store.py).

A version is identified by its file, content hash, landing time, conformance hash and row
count. The store is not used (the caller scans the whole table) when the relation has no
`_conform_hash` or lineage columns, a row has no file, or a file is held in two versions at
once (its keys could then repeat across the versions). Versions no longer in the relation are
forgotten when the store is saved.
"""

from __future__ import annotations

import hashlib

from orchestration.lib.quality.predicate_store import file_versions
from orchestration.lib.quality.version_store import VersionStore, home_store
from orchestration.lib.settings import Settings

STORE_FILE = "duplicate_keys.json"


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


class DuplicateKeyStore(VersionStore):
    LOGIC = "duplicate_keys.v1"  # bump when the counting changes

    def duplicates(self, con, rel: str, cols: list[str], versions: list[tuple] | None = None
                   ) -> tuple[int, int, list[str]] | None:
        """(extra rows sharing a key, duplicated keys, the files holding them) of `rel` over
        the key `cols` (rows with a NULL key part left out, as in the whole-table check), or
        None when the store cannot answer for this relation. `versions`: the relation's
        file versions if already listed (predicate_store.file_versions), else listed here."""
        if "_source_file" not in cols:
            return None
        if versions is None:
            versions = file_versions(con, rel)
        if versions is None:
            return None  # no lineage columns, or rows of no file: scan the whole table
        files = [v[0] for v in versions]
        if len(set(files)) < len(files):
            return None  # one file in two versions: scan the whole table
        keys = {"|".join(map(str, v)): v for v in versions}
        sig = hashlib.sha256(repr(sorted(cols)).encode()).hexdigest()[:16]
        held = self.tables.setdefault(rel, {})
        need = [k for k in keys if sig not in held.get(k, {})]
        if need:
            counted = self._count(con, rel, cols, [keys[k][0] for k in need])
            for k in need:
                held.setdefault(k, {})[sig] = counted.get(keys[k][0], [0, 0])
        self._remember(rel, keys)
        extra = sum(held[k][sig][0] for k in keys)
        groups = sum(held[k][sig][1] for k in keys)
        dup_files = sorted(keys[k][0] for k in keys if held[k][sig][0] > 0)
        return extra, groups, dup_files

    @staticmethod
    def _count(con, rel: str, cols: list[str], files: list[str]) -> dict[str, list[int]]:
        """{file: [extra rows, duplicated keys]} of `files`, in one aggregation."""
        key = ", ".join(_q(c) for c in cols)
        not_null = " AND ".join(f"{_q(c)} IS NOT NULL" for c in cols)
        listed = ", ".join(_lit(f) for f in files)
        rows = con.execute(
            f"SELECT _source_file, coalesce(sum(qt_n - 1), 0), count(*) FROM ("
            f"SELECT {key}, count(*) AS qt_n FROM {rel} WHERE {not_null} "
            f"AND _source_file IN ({listed}) GROUP BY {key} HAVING count(*) > 1) "
            "GROUP BY _source_file").fetchall()
        return {r[0]: [int(r[1]), int(r[2])] for r in rows}


def duplicate_store(settings: Settings) -> DuplicateKeyStore:
    """This home's DuplicateKeyStore (one per process; saved by `save_home_stores`)."""
    return home_store(DuplicateKeyStore, settings.home, STORE_FILE)
