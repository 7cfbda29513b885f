"""Row-level expectations and missing rates counted per delivered file version
(orchestration/lib/quality/predicate_store.py): the gate scans only the file versions it has
not counted before, and every outcome (verdict, count, message, examples, details) equals the
outcome of one scan of the whole relation, through a new day, a re-delivery that replaces a
file, a withdrawn file, a late file for an old day and a conformance change, and over random
deliveries. The relation is shaped like the warehouse's: a `stg_` view keeping the rows of
its `base_` table that have no reject reason."""

from __future__ import annotations

import json
import random

import duckdb
import pytest

from orchestration.lib.quality import ERROR, WARN, ExpectationSpec, validate_model
from orchestration.lib.quality import validate as validate_mod
from orchestration.lib.quality.predicate_store import PredicateCountStore, file_versions
from orchestration.lib.quality.validate import save_missing_stores
from orchestration.lib.settings import get_settings

BASE = "staging.base_mes__parts"
GOOD_BATCH = "20240315-L02-003"


def S(name, kind, cols=(), severity=ERROR, **params):
    return ExpectationSpec(name, kind, tuple(cols), severity, params)


SPECS = [
    S("not_null__part_no", "not_null", ["part_no"]),
    S("pattern__batch", "match_regex", ["batch"], WARN, regex=r"^\d{8}-L\d{2}-\d{3}$"),
    S("in_set__grade", "in_set", ["grade"], WARN, value_set=["A", "B"]),
    S("range__weight", "between", ["weight"], WARN, min_value=0, max_value=40),
    S("missing_rate__operator", "missing_rate", ["operator"], WARN, warn=0.2, error=0.6,
      min_rows=5),
    S("missing_rate__grade", "missing_rate", ["grade"], WARN, warn=0.2, min_rows=5),
    S("unique_per_file__part_no", "unique", ["part_no", "_source_file"], WARN, max_allowed=0),
    S("row_count_min", "row_count_min", [], WARN, min_rows=10),
]


def _rows(file: str, n: int, seed: int, sha: str | None = None, conform: str = "c1",
          loaded: str = "2025-01-02 08:00:00") -> list[list]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        out.append([
            None if rnd.random() < 0.05 else f"P{seed}-{rnd.randrange(n * 3)}",
            rnd.choice([GOOD_BATCH, GOOD_BATCH, GOOD_BATCH, "2024031-L2-3", None]),
            rnd.choice(["A", "B", "A", "C", None, ""]),
            rnd.choice([None, -1.5, 12.0, 20.0, 55.0, 30.0]),
            rnd.choice(["op1", "op2", None, " ", "-"]),
            "bad row" if rnd.random() < 0.1 else None,  # rejected: not in the stg view
            file, i + 1, sha or f"sha-{file}", loaded, conform])
    return out


def _add(con, file: str, n: int, seed: int, **kw) -> None:
    con.executemany(f"INSERT INTO {BASE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _rows(file, n, seed, **kw))


def _drop(con, file: str) -> None:
    con.execute(f"DELETE FROM {BASE} WHERE _source_file = ?", [file])


@pytest.fixture()
def settings(tmp_path, monkeypatch):
    # the exact DuckDB aggregate (GX's verdicts, proven) from 100 rows, as at 250,000
    monkeypatch.setattr(validate_mod, "EXACT_AGG_MIN_ROWS", 100)
    s = get_settings(tmp_path / "home", tmp_path / "exports")
    s.home.mkdir(parents=True)
    with duckdb.connect(str(s.warehouse)) as con:
        con.execute("CREATE SCHEMA staging")
        con.execute(f"CREATE TABLE {BASE} (part_no VARCHAR, batch VARCHAR, grade VARCHAR, "
                    "weight DOUBLE, operator VARCHAR, _reject_reason VARCHAR, "
                    "_source_file VARCHAR, _source_row BIGINT, _file_sha256 VARCHAR, "
                    "_loaded_at TIMESTAMP, _conform_hash VARCHAR)")
        con.execute(f"CREATE VIEW staging.stg_mes__parts AS SELECT * EXCLUDE (_reject_reason) "
                    f"FROM {BASE} WHERE _reject_reason IS NULL")
        _add(con, "mes/parts_0101.csv", 120, 1)
        _add(con, "mes/parts_0102.csv", 90, 2)
    return s


def _view(outcomes) -> list:
    return [(o.check_name, o.passed, o.observed_value, o.message,
             {k: v for k, v in (o.details or {}).items() if k != "checked_at"})
            for o in outcomes]


def _with_store(settings, full_gx_max_rows=None) -> list:
    out = validate_model(settings, "stg_mes__parts", SPECS, "r1", keep_docs=False,
                         full_gx_max_rows=full_gx_max_rows)
    save_missing_stores()  # as the gate does after every run
    return _view(out)


def _whole_scan(settings, monkeypatch, full_gx_max_rows=None) -> list:
    with monkeypatch.context() as m:
        m.setattr(validate_mod, "predicate_store", lambda _settings: None)
        return _view(validate_model(settings, "stg_mes__parts", SPECS, "r1", keep_docs=False,
                                    full_gx_max_rows=full_gx_max_rows))


def _store_file(settings) -> dict:
    return json.loads((settings.home / "state" / "predicate_counts.json").read_text())


def test_outcomes_equal_a_whole_scan_through_every_kind_of_delivery(settings, monkeypatch):
    def same(**kw):
        whole = _whole_scan(settings, monkeypatch, **kw)
        assert _with_store(settings, **kw) == whole
        return whole

    first = same()
    assert {c: p for c, p, *_ in first}["pattern__batch"] is False  # the data has failures
    assert len(_store_file(settings)["tables"]['"staging"."stg_mes__parts"']) == 2

    with duckdb.connect(str(settings.warehouse)) as con:  # a new day
        _add(con, "mes/parts_0103.csv", 80, 3)
    same()
    with duckdb.connect(str(settings.warehouse)) as con:  # a re-delivery replaces a file
        _drop(con, "mes/parts_0102.csv")
        _add(con, "mes/parts_0102.csv", 60, 22, sha="sha-v2", loaded="2025-01-03 08:00:00")
    same()
    with duckdb.connect(str(settings.warehouse)) as con:  # a file withdrawn, a late one
        _drop(con, "mes/parts_0101.csv")
        _add(con, "mes/parts_0099.csv", 70, 9, loaded="2025-01-04 08:00:00")
    same()
    # the versions no longer in the relation are forgotten
    held = _store_file(settings)["tables"]['"staging"."stg_mes__parts"']
    assert sorted(k.split("|")[0] for k in held) == [
        "mes/parts_0099.csv", "mes/parts_0102.csv", "mes/parts_0103.csv"]
    with duckdb.connect(str(settings.warehouse)) as con:  # a conformance change
        con.execute(f"UPDATE {BASE} SET _conform_hash = 'c2', "
                    "grade = CASE WHEN grade = 'C' THEN 'A' ELSE grade END")
    after = same()
    assert after != first
    # above the full-GX limit (types not proven): the same counts by the aggregate as well
    same(full_gx_max_rows=50)


def test_a_counted_version_is_not_scanned_again(settings):
    store = PredicateCountStore(settings.home / "state" / "p.json")
    rel = '"staging"."stg_mes__parts"'
    with duckdb.connect(str(settings.warehouse)) as con:
        preds = ["batch IS NULL", "grade = 'C'"]
        first = store.counts(con, rel, preds, file_versions(con, rel))
        assert first.new_files == ["mes/parts_0101.csv", "mes/parts_0102.csv"]
        again = store.counts(con, rel, preds, file_versions(con, rel))
        assert again.new_files == [] and again.matches == first.matches
        _add(con, "mes/parts_0103.csv", 50, 3)
        third = store.counts(con, rel, preds, file_versions(con, rel))
        assert third.new_files == ["mes/parts_0103.csv"]
        whole = con.execute(f"SELECT count(*), count(*) FILTER (WHERE batch IS NULL), "
                            f"count(*) FILTER (WHERE grade = 'C') FROM {rel}").fetchone()
        assert (third.rows, *third.matches) == whole
        # a relation without lineage columns, or with rows of no file: not answered
        con.execute("CREATE TABLE staging.plain AS SELECT 1 AS x")
        assert file_versions(con, "staging.plain") is None
        con.execute(f"INSERT INTO {BASE} (part_no, _source_file) VALUES ('P', NULL)")
        assert file_versions(con, rel) is None
        assert store.counts(con, rel, preds, None) is None


def test_random_deliveries_agree_with_whole_scans(settings, monkeypatch):
    rnd = random.Random(11)
    files = {"mes/parts_0101.csv", "mes/parts_0102.csv"}
    for step in range(8):
        with duckdb.connect(str(settings.warehouse)) as con:
            action = rnd.choice(["new", "new", "replace", "drop", "conform"])
            if action == "new" or not files:
                f = f"mes/parts_{200 + step:04d}.csv"
                _add(con, f, rnd.randrange(1, 60), 100 + step)
                files.add(f)
            elif action == "replace":
                f = rnd.choice(sorted(files))
                _drop(con, f)
                _add(con, f, rnd.randrange(1, 60), 300 + step, sha=f"sha-{step}")
            elif action == "drop" and len(files) > 1:
                f = rnd.choice(sorted(files))
                _drop(con, f)
                files.discard(f)
            else:
                con.execute(f"UPDATE {BASE} SET _conform_hash = 'c{step}'")
        assert _with_store(settings) == _whole_scan(settings, monkeypatch), (step, action)


def test_only_staging_relations_are_counted_per_version(settings):
    """A model of another layer may carry the lineage columns and still change a version's
    rows without a new version or conformance (it joins other tables): scanned whole."""
    from orchestration.lib.quality.validate import _versions

    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE SCHEMA intermediate")
        con.execute(f"CREATE TABLE intermediate.int_parts AS SELECT * FROM {BASE}")
        assert _versions(con, '"intermediate"."int_parts"', {}) is None
        assert file_versions(con, '"intermediate"."int_parts"') is not None
        assert _versions(con, '"staging"."stg_mes__parts"', {}) == file_versions(
            con, '"staging"."stg_mes__parts"')
