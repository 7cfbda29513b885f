"""Row counts of SQL predicates per delivered file version, kept between runs, for the gate's
row-level expectations and missing rates over a conformed relation (a `stg_` view over a
`base_` table built file version by file version, macros/staging/incremental_by_file.sql).

A conformed file version's rows do not change until the file is re-delivered or the
conformance changes (its `_conform_hash`, which inlines the dictionary), so how many of its
rows a predicate matches (unexpected for an expectation, NULL, blank) is counted once and kept
in `<home>/state/predicate_counts.json`. A run scans only the versions it has not counted (a
new day's files): the sums are those of one scan of the whole relation
(tests/test_predicate_count_store.py).

A version is identified by its file, content hash, landing time, conformance hashes and row
count, as in duplicate_store.py. The store is not used (the caller scans the whole relation)
when the relation has no lineage columns or holds rows of no file. Versions no longer in the
relation are forgotten when the store is saved.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from orchestration.lib.quality.version_store import VersionStore, home_store
from orchestration.lib.settings import Settings

LINEAGE = ("_source_file", "_file_sha256", "_loaded_at", "_conform_hash")
STORE_FILE = "predicate_counts.json"


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def file_versions(con, rel: str) -> list[tuple] | None:
    """[(file, content hash, landing time, min and max conformance hash, rows)] of `rel`, one
    per (file, content hash), in one scan; None when `rel` lacks the lineage columns or holds
    rows of no file."""
    names = {r[0] for r in con.execute(f"SELECT * FROM {rel} LIMIT 0").description}
    if not set(LINEAGE) <= names:
        return None
    versions = con.execute(
        "SELECT _source_file, _file_sha256, CAST(max(_loaded_at) AS VARCHAR), "
        f"min(_conform_hash), max(_conform_hash), count(*) FROM {rel} "
        "GROUP BY _source_file, _file_sha256 ORDER BY _source_file, _file_sha256").fetchall()
    if any(v[0] is None or v[1] is None for v in versions):
        return None
    return versions


def version_key(version: tuple) -> str:
    return "|".join(map(str, version))


@dataclass
class Counted:
    """What `PredicateCountStore.counts` found: the relation's rows, each predicate's matching
    rows, the files holding a match (per predicate), and the files of the versions this call
    counted (not held before)."""

    rows: int
    matches: list[int]
    files_matching: list[list[str]]
    new_files: list[str]


class PredicateCountStore(VersionStore):
    LOGIC = "predicate_counts.v1"  # bump when the counting changes

    def counts(self, con, rel: str, predicates: list[str],
               versions: list[tuple] | None) -> Counted | None:
        """Rows of `rel` matching each SQL predicate (over `versions`, from file_versions),
        or None when the store cannot answer for this relation."""
        if versions is None:
            return None
        keys = {version_key(v): v for v in versions}
        sigs = [hashlib.sha256(p.encode()).hexdigest()[:16] for p in predicates]
        held = self.tables.setdefault(rel, {})
        need = [k for k in keys if not all(s in held.get(k, {}) for s in sigs)]
        if need:
            by_pair = {(keys[k][0], keys[k][1]): k for k in need}
            values = ", ".join(f"({_lit(f)}, {_lit(s)})" for f, s in by_pair)
            parts = "".join(f", count(*) FILTER (WHERE {p})" for p in predicates)
            only_need = ("" if len(need) == len(keys) else  # every version: no join
                         f"JOIN (VALUES {values}) AS qt_v(qt_file, qt_sha) "
                         "ON qt_v.qt_file = _source_file AND qt_v.qt_sha = _file_sha256 ")
            rows = con.execute(
                f"SELECT _source_file, _file_sha256{parts} FROM {rel} {only_need}"
                "GROUP BY _source_file, _file_sha256").fetchall()
            found = {(r[0], r[1]): r[2:] for r in rows}
            for pair, k in by_pair.items():
                got = found.get(pair, [0] * len(predicates))
                held.setdefault(k, {}).update({s: int(n) for s, n in zip(sigs, got)})
        self._remember(rel, keys)
        matches = [sum(held[k][s] for k in keys) for s in sigs]
        files = [sorted({keys[k][0] for k in keys if held[k][s] > 0}) for s in sigs]
        return Counted(rows=sum(int(v[5]) for v in versions), matches=matches,
                       files_matching=files, new_files=sorted({keys[k][0] for k in need}))


def predicate_store(settings: Settings) -> PredicateCountStore:
    """This home's PredicateCountStore (one per process; saved by `save_home_stores`)."""
    return home_store(PredicateCountStore, settings.home, STORE_FILE)
