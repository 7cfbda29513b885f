"""Duplicate keys of `unique` checks per delivered file version
(orchestration/lib/quality/duplicate_store.py): the gate counts only the file versions it has
not counted before, and the check's outcome (count, duplicated keys, sample, message) always
equals one scan of the whole relation: after a new day, a file with duplicates, a re-delivery
that replaces a file, a withdrawn file, a conformance change, a NULL key part, and a file
held in two versions at once (then the whole relation is scanned)."""

from __future__ import annotations

import json
import random

import duckdb
import pytest

from orchestration.lib.quality.duplicate_store import DuplicateKeyStore
from orchestration.lib.quality.model import WARN, ExpectationSpec
from orchestration.lib.quality.validate import _fact

REL = '"staging"."stg_mes__readings"'
SPEC = ExpectationSpec(name="unique_per_file__equipment_id__ts", kind="unique",
                       columns=("equipment_id", "ts", "_source_file"), severity=WARN,
                       params={"max_allowed": 0})


def _add(con, file: str, keys: list[tuple], sha: str | None = None,
         conform: str = "c1", loaded: str = "2025-01-02 08:00:00") -> None:
    con.executemany(
        f"INSERT INTO {REL} VALUES (?, ?, ?, ?, ?, ?, ?)",
        [[eq, ts, 1.5, file, sha or f"sha-{file}", loaded, conform] for eq, ts in keys])


def _drop(con, file: str) -> None:
    con.execute(f"DELETE FROM {REL} WHERE _source_file = ?", [file])


def _outcome(con, store=None) -> dict:
    cache = {"__dupes__": store} if store is not None else {}
    info = _fact(con, "staging", "stg_mes__readings", SPEC, "staging/stg_mes__readings",
                 "run-1", REL, cache)
    info.pop("spec")
    return info


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    c.execute("CREATE SCHEMA staging")
    c.execute(f"CREATE TABLE {REL} (equipment_id VARCHAR, ts VARCHAR, value DOUBLE, "
              "_source_file VARCHAR, _file_sha256 VARCHAR, _loaded_at TIMESTAMP, "
              "_conform_hash VARCHAR)")
    _add(c, "mes/readings_0101.csv", [("E1", "08:00"), ("E1", "09:00"), ("E2", "08:00")])
    _add(c, "mes/readings_0102.csv", [("E1", "08:00"), ("E2", "08:00")])  # other file: fine
    yield c
    c.close()


def test_outcome_equals_a_whole_scan_through_every_kind_of_delivery(con, tmp_path):
    path = tmp_path / "state" / "duplicate_keys.json"
    store = DuplicateKeyStore(path)
    assert _outcome(con, store) == _outcome(con)
    assert _outcome(con)["observed"] == 0.0

    # a new day whose file repeats keys (one key three times, one twice)
    _add(con, "mes/readings_0103.csv",
         [("E3", "10:00"), ("E3", "10:00"), ("E3", "10:00"), ("E4", "11:00"),
          ("E4", "11:00"), ("E5", None), ("E5", None)])  # NULL key part: not a duplicate
    whole = _outcome(con)
    assert whole["observed"] == 3.0 and whole["details"]["duplicate_groups"] == 2
    assert _outcome(con, store) == whole
    store.save()

    # a re-delivery replaces that file (new content hash) with one holding no duplicates
    _drop(con, "mes/readings_0103.csv")
    _add(con, "mes/readings_0103.csv", [("E3", "10:00"), ("E4", "11:00")], sha="sha-v2")
    assert _outcome(con, DuplicateKeyStore(path)) == _outcome(con)
    assert _outcome(con)["observed"] == 0.0

    # a late file for an old day with a duplicate, then the first file withdrawn
    _add(con, "mes/readings_0099.csv", [("E9", "07:00"), ("E9", "07:00")])
    assert _outcome(con, store) == _outcome(con)
    _drop(con, "mes/readings_0101.csv")
    assert _outcome(con, store) == _outcome(con)

    # the conformance changed: every version is counted again (a planted count would show)
    con.execute(f"UPDATE {REL} SET ts = '07:01' WHERE rowid = (SELECT min(rowid) FROM {REL} "
                "WHERE _source_file = 'mes/readings_0099.csv')")
    con.execute(f"UPDATE {REL} SET _conform_hash = 'c2'")
    assert _outcome(con, store) == _outcome(con)
    assert _outcome(con)["observed"] == 0.0
    store.save()
    held = json.loads(path.read_text())["tables"][REL]
    assert len(held) == 3 and all("|c2|c2|" in k for k in held)  # withdrawn ones forgotten


def test_a_counted_version_is_not_scanned_again(con, tmp_path):
    path = tmp_path / "duplicate_keys.json"
    store = DuplicateKeyStore(path)
    _outcome(con, store)
    store.save()
    data = json.loads(path.read_text())
    held = data["tables"][REL]
    first = next(k for k in held if k.startswith("mes/readings_0101.csv|"))
    sig = next(iter(held[first]))
    held[first][sig] = [7, 2]  # planted: a scan would say 0
    path.write_text(json.dumps(data))
    assert _outcome(con, DuplicateKeyStore(path))["observed"] == 7.0
    # a new version of that file is counted from its rows
    _drop(con, "mes/readings_0101.csv")
    _add(con, "mes/readings_0101.csv", [("E1", "08:00")], sha="sha-new")
    assert _outcome(con, DuplicateKeyStore(path))["observed"] == 0.0


def test_two_versions_of_one_file_or_no_lineage_scan_the_whole_relation(con, tmp_path):
    store = DuplicateKeyStore(tmp_path / "duplicate_keys.json")
    # the same file in two versions at once: its keys repeat across the versions
    _add(con, "mes/readings_0102.csv", [("E1", "08:00")], sha="sha-other")
    assert store.duplicates(con, REL, list(SPEC.columns)) is None
    whole = _outcome(con)
    assert whole["observed"] == 1.0
    assert _outcome(con, store) == whole
    # a key without _source_file is not unique per file
    assert store.duplicates(con, REL, ["equipment_id", "ts"]) is None


def test_random_deliveries_agree_with_whole_scans(con, tmp_path):
    rng = random.Random(11)
    path = tmp_path / "duplicate_keys.json"
    store = DuplicateKeyStore(path)
    files = [f"mes/readings_{d:04d}.csv" for d in range(200, 212)]
    for step in range(40):
        f = rng.choice(files)
        action = rng.random()
        _drop(con, f)
        if action < 0.8:  # (re-)deliver with random keys, some repeated
            keys = [(rng.choice("ABC"), rng.choice(["01", "02", "03", None]))
                    for _ in range(rng.randint(1, 8))]
            _add(con, f, keys, sha=f"sha-{step}")
        if step % 7 == 0:
            store.save()
            store = DuplicateKeyStore(path)
        assert _outcome(con, store) == _outcome(con), step
