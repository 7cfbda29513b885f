"""Missing-rate counts of landed tables kept per delivered file version
(orchestration/lib/quality/validate.py `MissingCountStore`): the gate scans only the file
versions it has not counted before, and its counts always equal a scan of the whole table,
after new files, withdrawn files, a re-landed file, a new column and new no-value markers."""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.lib.quality.validate import MissingCountStore, _missing_counts

REL = '"raw"."mes__widgets"'
COLS = ["batch", "qty", "unit"]


def _add(con, file: str, rows: list[tuple], loaded: str = "2025-01-02 08:00:00",
         sha: str | None = None) -> None:
    for i, (batch, qty, unit) in enumerate(rows):
        con.execute(f"INSERT INTO {REL} (batch, qty, unit, _source_file, _file_sha256, "
                    "_source_row, _loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [batch, qty, unit, file, sha or f"sha-{file}", i + 2, loaded])


def _whole(con, markers=None) -> dict:
    """The counts of one scan of the whole table (no store)."""
    return dict(_missing_counts(con, REL, COLS, {"__markers__": markers or {}}))


def _stored(con, store, markers=None) -> dict:
    return dict(_missing_counts(con, REL, COLS, {"__markers__": markers or {},
                                                 "__store__": store}))


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    c.execute("CREATE SCHEMA raw")
    c.execute(f"CREATE TABLE {REL} (batch VARCHAR, qty VARCHAR, unit VARCHAR, "
              "_source_file VARCHAR, _file_sha256 VARCHAR, _source_row BIGINT, "
              "_loaded_at TIMESTAMP)")
    _add(c, "mes/widgets_20250101.csv", [("B1", "3", "pcs"), ("", "4", None), ("B3", " ", "pcs")])
    _add(c, "mes/widgets_20250102.csv", [("B4", "N/A", "pcs"), (None, "5", "")])
    yield c
    c.close()


def test_counts_equal_a_whole_scan_and_only_new_versions_are_scanned(con, tmp_path):
    path = tmp_path / "state" / "missing_counts.json"
    store = MissingCountStore(path)
    assert _stored(con, store) == _whole(con) == {
        "batch": (5, 2), "qty": (5, 1), "unit": (5, 2)}
    store.save()

    # a version already counted is not scanned again: a count planted in the store stays
    data = json.loads(path.read_text())
    held = data["tables"][REL]
    first = next(k for k in held if k.startswith("mes/widgets_20250101.csv|"))
    for sig in held[first]["missing"]:
        held[first]["missing"][sig] += 100
    path.write_text(json.dumps(data))
    planted = _stored(con, MissingCountStore(path))
    assert planted == {c: (5, n + 100) for c, (_, n) in _whole(con).items()}

    # a new file: only it is scanned (the planted counts of the first file stay) ...
    _add(con, "mes/widgets_20250103.csv", [("B6", "", "pcs")], loaded="2025-01-03 08:00:00")
    store = MissingCountStore(path)
    got = _stored(con, store)
    assert got["qty"] == (6, _whole(con)["qty"][1] + 100)
    # ... and with true counts in the store, every step equals a whole scan
    path.unlink()
    store = MissingCountStore(path)
    assert _stored(con, store) == _whole(con)
    store.save()

    # a file withdrawn from raw: its counts leave (and the store forgets it when saved)
    con.execute(f"DELETE FROM {REL} WHERE _source_file = 'mes/widgets_20250102.csv'")
    store = MissingCountStore(path)
    assert _stored(con, store) == _whole(con)
    store.save()
    assert not any(k.startswith("mes/widgets_20250102.csv|")
                   for k in json.loads(path.read_text())["tables"][REL])

    # the same file re-landed (another landing time, other rows): counted again
    con.execute(f"DELETE FROM {REL} WHERE _source_file = 'mes/widgets_20250101.csv'")
    _add(con, "mes/widgets_20250101.csv", [("B1", "3", "pcs"), ("B2", "4", "pcs")],
         loaded="2025-01-05 09:00:00")
    store = MissingCountStore(path)
    assert _stored(con, store) == _whole(con)
    store.save()

    # a column that later files brought (older rows NULL) and new no-value markers
    con.execute(f"ALTER TABLE {REL} ADD COLUMN colour VARCHAR")
    _add(con, "mes/widgets_20250104.csv", [("-", "1", "pcs")], loaded="2025-01-06 09:00:00")
    con.execute(f"UPDATE {REL} SET colour = 'red' WHERE _source_file = 'mes/widgets_20250104.csv'")
    cols = [*COLS, "colour"]
    markers = {"batch": ["-"], "qty": ["N/A"]}
    store = MissingCountStore(path)
    stored = dict(_missing_counts(con, REL, cols, {"__markers__": markers, "__store__": store}))
    whole = dict(_missing_counts(con, REL, cols, {"__markers__": markers}))
    assert stored == whole and whole["colour"] == (4, 3) and whole["batch"] == (4, 1)


def test_tables_without_file_lineage_are_scanned_whole(con, tmp_path):
    store = MissingCountStore(tmp_path / "missing_counts.json")
    _add(con, None, [("B9", "", "pcs")])  # a row of no file
    con.execute(f"UPDATE {REL} SET _file_sha256 = NULL WHERE _source_file IS NULL")
    assert _stored(con, store) == _whole(con)
    assert store.tables.get(REL, {}) == {}  # nothing kept for a table it cannot split
    # a staging table (re-conformed when the dictionary changes) never uses the store
    con.execute("CREATE SCHEMA staging")
    con.execute(f"CREATE TABLE staging.stg_mes__widgets AS SELECT * FROM {REL}")
    rel = '"staging"."stg_mes__widgets"'
    assert dict(_missing_counts(con, rel, COLS, {"__store__": store})) == \
        dict(_missing_counts(con, rel, COLS, {}))
    assert rel not in store.tables
