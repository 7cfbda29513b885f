"""validate_model / record_results / run_gate on a small real DuckDB warehouse."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.lib.quality import (
    ERROR,
    WARN,
    ExpectationSpec,
    GateFailed,
    record_results,
    run_gate,
    validate_model,
)
from orchestration.lib.settings import get_settings
from orchestration.lib.warehouse import connect


def S(name, kind, cols=(), severity=ERROR, **params):
    return ExpectationSpec(name, kind, tuple(cols), severity, params)


@pytest.fixture()
def home(tmp_path):
    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    settings.home.mkdir(parents=True)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA intermediate; CREATE SCHEMA raw; "
                "CREATE SCHEMA governance")
    con.execute("""
        CREATE TABLE raw.mes__readings AS SELECT
            CASE WHEN i % 500 = 0 THEN '  ' ELSE 'EQ' || (i % 7) END AS equipment_id,
            'temperature' AS parameter FROM range(5000) t(i)""")
    con.execute("""
        CREATE TABLE staging.stg_mes__readings AS SELECT
            'EQ' || (i % 7) AS equipment_id,
            TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS ts,
            CASE WHEN i = 4321 THEN 'voltage' ELSE 'temperature' END AS parameter,
            CASE WHEN i % 1000 = 999 THEN NULL ELSE 20.0 + (i % 10) END AS value,
            CASE WHEN i % 5 = 0 THEN '20240315-L2-3' ELSE '20240315-L02-003' END AS batch,
            CASE WHEN i % 4 = 0 THEN NULL ELSE 'op' END AS operator_id,
            'f' || (i % 3) || '.csv' AS _source_file
        FROM range(5000) t(i)""")
    # two rows share (equipment_id, ts, parameter, _source_file)
    con.execute("INSERT INTO staging.stg_mes__readings SELECT * FROM staging.stg_mes__readings "
                "WHERE ts = TIMESTAMP '2024-01-01 00:00:10'")
    con.close()
    return settings


def test_row_and_set_level_outcomes(home):
    specs = [
        S("not_null__value", "not_null", ["value"]),
        S("in_set__parameter", "in_set", ["parameter"], value_set=["temperature", "pressure"]),
        S("pattern__batch", "match_regex", ["batch"], WARN, regex=r"^\d{8}-L\d{2}-\d{3}$"),
        S("range__value", "between", ["value"], WARN, min_value=0, max_value=100),
        S("unique_per_file", "unique", ["equipment_id", "ts", "parameter", "_source_file"],
          WARN),
        S("missing_rate__operator_id", "missing_rate", ["operator_id"], ERROR,
          warn=0.1, error=0.5),
        S("missing_required__equipment_id", "missing_rate", ["equipment_id"], WARN,
          warn=0.0, error=None, source="raw.mes__readings"),
        S("row_count_vs_previous", "row_count_vs_previous", [], WARN, max_drop=0.5),
    ]
    out = {o.check_name: o for o in validate_model(home, "stg_mes__readings", specs, "r1")}
    assert all(o.asset == "staging/stg_mes__readings" for o in out.values())
    nn = out["not_null__value"]
    assert not nn.passed and nn.observed_value == 5 and nn.severity == ERROR
    assert "stg_mes__readings.value" in nn.message
    ins = out["in_set__parameter"]
    assert not ins.passed and ins.observed_value == 1 and "voltage" in ins.message
    pat = out["pattern__batch"]
    assert not pat.passed and pat.observed_value == 1001 and pat.severity == WARN
    assert out["range__value"].passed
    uq = out["unique_per_file"]
    assert not uq.passed and uq.observed_value == 1
    mr = out["missing_rate__operator_id"]  # 25% blank: over warn, under error
    assert not mr.passed and mr.severity == WARN and mr.signature == "warn"
    assert mr.observed_value == pytest.approx(1250 / 5001, rel=1e-6)
    req = out["missing_required__equipment_id"]  # measured on raw: blanks count as missing
    assert not req.passed and req.observed_value == pytest.approx(10 / 5000)
    assert out["row_count_vs_previous"].passed  # no previous run


def test_chunked_validation_matches_one_chunk(home):
    specs = [S("not_null__value", "not_null", ["value"]),
             S("pattern__batch", "match_regex", ["batch"], WARN,
               regex=r"^\d{8}-L\d{2}-\d{3}$")]
    whole = validate_model(home, "stg_mes__readings", specs, "r1", chunk_rows=10**7)
    chunked = validate_model(home, "stg_mes__readings", specs, "r1", chunk_rows=700)
    assert [(o.passed, o.observed_value) for o in whole] == \
           [(o.passed, o.observed_value) for o in chunked]


def test_missing_model_and_column_fail_with_names(home):
    out = validate_model(home, "stg_crm__nothing", [S("not_null__a", "not_null", ["a"])])
    assert not out[0].passed and "staging.stg_crm__nothing does not exist" in out[0].message
    out = validate_model(home, "stg_mes__readings", [S("not_null__zz", "not_null", ["zz"])])
    assert not out[0].passed and "column zz is missing" in out[0].message


def test_mostly_tolerates_a_share_of_failures(home):
    spec = S("pattern__batch", "match_regex", ["batch"], ERROR,
             regex=r"^\d{8}-L\d{2}-\d{3}$", mostly=0.75)
    assert validate_model(home, "stg_mes__readings", [spec])[0].passed


def test_history_and_row_count_against_previous_run(home):
    spec = S("row_count_vs_previous", "row_count_vs_previous", [], WARN, max_drop=0.5)
    first = validate_model(home, "stg_mes__readings", [spec], "r1")
    record_results(home, "r1", first)
    with connect(home) as con:
        con.execute("DELETE FROM staging.stg_mes__readings WHERE ts > TIMESTAMP "
                    "'2024-01-01 00:10:00'")
    second = validate_model(home, "stg_mes__readings", [spec], "r2")
    assert not second[0].passed and second[0].observed_value == 602
    record_results(home, "r2", second)
    with connect(home, read_only=True) as con:
        rows = con.execute("SELECT run_id, check_name, asset, severity, passed, observed_value, "
                           "threshold FROM governance.check_results ORDER BY checked_at"
                           ).fetchall()
    assert [r[0] for r in rows] == ["r1", "r2"]
    assert rows[1][1:6] == ("row_count_vs_previous", "staging/stg_mes__readings", WARN, False,
                            602.0)


def test_gate_raises_naming_the_error_check(home):
    suites = {"stg_mes__readings": [S("not_null__value", "not_null", ["value"]),
                                    S("in_set__parameter", "in_set", ["parameter"], WARN,
                                      value_set=["temperature"])]}
    with pytest.raises(GateFailed) as exc:
        run_gate(home, "r9", suites=suites)
    assert "not_null__value on staging/stg_mes__readings" in str(exc.value)
    assert "in_set__parameter" not in str(exc.value)  # WARN does not block
    assert (home.reports.parent / "gx" / "results" / "stg_mes__readings.json").exists()


def test_big_tables_counted_by_aggregate_match_gx(home):
    """Above the row threshold the exact counts come from DuckDB; they must equal GX's."""
    specs = [S("not_null__value", "not_null", ["value"]),
             S("in_set__parameter", "in_set", ["parameter"], value_set=["temperature"]),
             S("pattern__batch", "match_regex", ["batch"], WARN,
               regex=r"^\d{8}-L\d{2}-\d{3}$"),
             S("range__value", "between", ["value"], WARN, min_value=21, max_value=28)]
    gx = validate_model(home, "stg_mes__readings", specs, "r1")
    agg = validate_model(home, "stg_mes__readings", specs, "r1", full_gx_max_rows=100)
    assert [(o.check_name, o.passed, o.observed_value) for o in gx] == \
           [(o.check_name, o.passed, o.observed_value) for o in agg]
    assert not agg[1].passed and "voltage" in agg[1].message


def test_injected_failure_for_drills(home, monkeypatch):
    from orchestration.lib.quality import run_model_checks

    spec = S("in_set__parameter", "in_set", ["parameter"], ERROR,
             value_set=["temperature", "voltage"])
    assert run_model_checks(home, "stg_mes__readings", "r1", [spec])[0].passed
    monkeypatch.setenv("QUALITRACE_INJECT_FAILURE", "in_set__parameter@staging/stg_mes__readings")
    out = run_model_checks(home, "stg_mes__readings", "r2", [spec])[0]
    assert not out.passed and out.severity == ERROR and "QUALITRACE_INJECT_FAILURE" in out.message


def test_other_dagster_checks_join_the_history(home):
    import dagster as dg

    from orchestration.lib.quality.results import record_check_evaluations

    evs = [dg.AssetCheckEvaluation(asset_key=dg.AssetKey(["governance", "file_manifest"]),
                                   check_name="rows_reconcile", passed=False, metadata={},
                                   severity=dg.AssetCheckSeverity.ERROR, description="off by 1"),
           dg.AssetCheckEvaluation(asset_key=dg.AssetKey(["staging", "stg_x"]),
                                   check_name="gx_blocking", passed=True, metadata={})]
    assert record_check_evaluations(home, "r1", evs) == 1
    with connect(home, read_only=True) as con:
        row = con.execute("SELECT check_name, asset, severity, passed, message "
                          "FROM governance.check_results").fetchall()
    assert row == [("rows_reconcile", "governance/file_manifest", "ERROR", False, "off by 1")]


def test_one_gate_call_judges_every_models_facts_like_one_model_at_a_time(home):
    """run_checks shares one connection and one GX validation of the set-level facts across
    models; each model's outcomes and Data Docs are as if it were validated alone."""
    import json

    from orchestration.lib.quality.gate import run_checks

    with duckdb.connect(str(home.warehouse)) as con:
        con.execute("CREATE TABLE intermediate.int_x AS SELECT i % 3 AS k FROM range(6) t(i)")
    suites = {
        "stg_mes__readings": [S("not_null__value", "not_null", ["value"]),
                              S("unique_k", "unique", ["equipment_id", "ts", "parameter",
                                                       "_source_file"], WARN),
                              S("rows_min", "row_count_min", [], ERROR, min_rows=10)],
        "int_x": [S("unique_k", "unique", ["k"], ERROR),
                  S("rows_min", "row_count_min", [], ERROR, min_rows=10)],
    }
    alone = {m: validate_model(home, m, specs, "r1", keep_docs=False)
             for m, specs in suites.items()}
    together = run_checks(home, suites, "r1")
    strip = lambda outs: [(o.check_name, o.asset, o.severity, o.passed, o.observed_value,
                           o.message, o.signature) for o in outs]
    assert {m: strip(v) for m, v in together.items()} == {m: strip(v) for m, v in alone.items()}
    x = {o.check_name: o for o in together["int_x"]}
    assert not x["unique_k"].passed and x["unique_k"].observed_value == 3
    assert not x["rows_min"].passed  # 6 rows < 10
    r = {o.check_name: o for o in together["stg_mes__readings"]}
    assert r["rows_min"].passed and not r["unique_k"].passed  # same names, other verdicts
    docs = json.loads((home.home / "gx" / "results" / "int_x.json").read_text())
    facts = next(p for p in docs["pairs"] if p["suite"]["name"] == "int_x.facts")
    assert not facts["result"]["success"]
    bad = [idx["check_name"] for res in facts["result"]["results"]
           for idx in res["result"]["unexpected_index_list"]]
    assert sorted(bad) == ["rows_min", "unique_k"]
    assert all(idx["model"] == "intermediate/int_x" for res in facts["result"]["results"]
               for idx in res["result"]["unexpected_index_list"])


def test_great_expectations_is_imported_lazily_and_can_be_prewarmed():
    import subprocess
    import sys

    code = ("import sys\n"
            "import orchestration.lib.quality, orchestration.lib.reconcile\n"
            "from orchestration.lib.quality import gx_engine\n"
            "assert 'great_expectations' not in sys.modules, 'imported eagerly'\n"
            "assert 'pandas' not in sys.modules, 'pandas imported eagerly'\n"
            "thread = gx_engine.prewarm()\n"
            # the ORM is whole before GX's thread starts: Dagster's SQLAlchemy Core calls
            # its inspection hook from this thread meanwhile
            "orm_exc = sys.modules.get('sqlalchemy.orm.exc')\n"
            "assert orm_exc is not None and 'UnmappedClassError' in vars(orm_exc)\n"
            "thread.join(120)\n"
            "assert 'great_expectations.expectations' in sys.modules\n"
            "assert gx_engine.prewarm() is not None\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("risky", [
    "",  # printable ASCII only: DuckDB counts, same outcomes and examples as GX
    "when i % 71 = 0 then '２０２４0315-L02-003'",  # Python's \\d matches it, RE2's not
    "when i % 73 = 0 then '20240315-L02-003' || chr(10)",  # Python's $ before a newline
])
def test_mid_size_tables_counted_by_duckdb_only_when_exactly_gx(tmp_path, monkeypatch, risky):
    from orchestration.lib.quality import validate

    settings = get_settings(tmp_path / "home", tmp_path / "exports")
    settings.home.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE SCHEMA staging")
        con.execute(f"""CREATE TABLE staging.stg_t AS SELECT
            CASE WHEN i % 97 = 0 THEN NULL WHEN i % 89 = 0 THEN '2024031-L02-003'
                 WHEN i % 83 = 0 THEN '20240315-L02-003 ' {risky}
                 ELSE '20240315-L02-003' END AS batch,
            CASE WHEN i % 7 = 0 THEN 'x' WHEN i % 11 = 0 THEN NULL ELSE 'a' END AS kind,
            CASE WHEN i % 13 = 0 THEN NULL WHEN i % 17 = 0 THEN -1.5
                 ELSE (i % 50)::DOUBLE END AS v
            FROM range(3000) t(i)""")
    specs = [S("nn_batch", "not_null", ["batch"]),
             S("re_batch", "match_regex", ["batch"], WARN, regex=r"^\d{8}-L\d{2}-\d{3}$"),
             S("in_kind", "in_set", ["kind"], WARN, value_set=["a", "b"]),
             S("rng_v", "between", ["v"], WARN, min_value=0, max_value=40),
             S("nn_v", "not_null", ["v"])]
    paths = []
    real = validate._validate_rows_by_aggregate

    def spy(*a, **k):
        out = real(*a, **k)
        paths.append("duckdb" if out is not None else "gx")
        return out

    monkeypatch.setattr(validate, "_validate_rows_by_aggregate", spy)
    monkeypatch.setattr(validate, "EXACT_AGG_MIN_ROWS", 10**9)
    by_gx = validate_model(settings, "stg_t", specs, "r1", keep_docs=False)
    monkeypatch.setattr(validate, "EXACT_AGG_MIN_ROWS", 100)
    by_duckdb = validate_model(settings, "stg_t", specs, "r1", keep_docs=False)
    assert paths == (["duckdb"] if not risky else ["gx"])
    view = lambda outs: [(o.check_name, o.passed, o.observed_value, o.message, o.details)
                         for o in outs]
    assert view(by_duckdb) == view(by_gx)
    assert not by_gx[1].passed and not by_gx[2].passed and not by_gx[3].passed


# --- rates judged only with enough rows (Wilson lower bound) --------------------------------
from hypothesis import given
from hypothesis import strategies as st

from orchestration.lib.quality.validate import rate_judged, wilson_lower


@given(st.integers(0, 5000), st.integers(1, 5000))
def test_wilson_lower_bound_is_a_lower_bound_in_0_1(k, n):
    k = min(k, n)
    lo = wilson_lower(k, n)
    assert 0.0 <= lo <= k / n + 1e-12


def test_rates_need_enough_rows():
    assert rate_judged(1, 1, 20) == 0.0  # a 1-row table never trips a rate
    assert rate_judged(19, 19, 20) == 0.0
    assert 0.8 < rate_judged(100, 100, 20) <= 1.0
    # 5 of 20 blank (25%): the lower bound stays under a 25% threshold, 50 of 200 does not
    assert rate_judged(5, 20, 20) < 0.25 and rate_judged(500, 1000, 20) > 0.46
    assert rate_judged(3, 10, 1) == 0.3  # min_rows 1: the plain rate, as before


def _manifest(con, rows):
    con.execute("CREATE OR REPLACE TABLE governance.file_manifest (path VARCHAR, status VARCHAR, "
                "rows_landed BIGINT, previous_rows_landed BIGINT)")
    con.executemany("INSERT INTO governance.file_manifest VALUES (?, ?, ?, ?)", rows)


def test_a_re_delivery_that_shrank_or_emptied_blocks_and_a_small_one_does_not(home):
    spec = S("delivery_shrank", "delivery_shrank", [], ERROR, max_drop=0.5, min_rows=20)
    with connect(home) as con:
        _manifest(con, [
            ("crm/complaints_20250301.csv", "loaded", 12, 480),       # truncated re-export
            ("crm/complaints_20250302.csv", "loaded", 0, 300),        # emptied: vanished rows
            ("crm/complaints_20250301.csv", "superseded", 480, None),
            ("crm/complaints_20250303.csv", "loaded", 250, 300),      # a correction, not a loss
            ("crm/complaints_20250304.csv", "loaded", 1, 10),         # too small to judge
            ("erp/shipments_20250301.csv", "loaded", 900, None),      # first delivery
        ])
    out = validate_model(home, "governance.file_manifest", [spec])[0]
    assert not out.passed and out.severity == ERROR and out.observed_value == 2
    assert [f["path"] for f in out.details["files"]] == ["crm/complaints_20250301.csv",
                                                         "crm/complaints_20250302.csv"]
    assert "480 -> 12 rows" in out.message and "300 -> 0 rows" in out.message
    with connect(home) as con:
        _manifest(con, [("crm/complaints_20250303.csv", "loaded", 250, 300)])
    assert validate_model(home, "governance.file_manifest", [spec])[0].passed


def test_dangling_references_warn_then_block_and_are_judged_on_enough_rows(home):
    spec = S("shipped_batch_known", "referential", ["batch"], ERROR, ref="intermediate.batches",
             ref_column="batch_code", warn=0.05, error=0.5, min_rows=50)
    with connect(home) as con:
        con.execute("CREATE TABLE intermediate.batches AS SELECT '20240315-L02-003' AS batch_code")
    # stg_mes__readings.batch: 1 in 5 rows name an unknown batch ('20240315-L2-3'): WARN only
    out = validate_model(home, "stg_mes__readings", [spec])[0]
    assert not out.passed and out.severity == WARN
    assert out.details["dangling"] == 1001 and out.details["sample"] == ["20240315-L2-3"]
    assert 0.18 < out.observed_value < 1001 / 5001  # the Wilson lower bound of 1001 / 5001
    with connect(home) as con:
        con.execute("DELETE FROM intermediate.batches")
    out = validate_model(home, "stg_mes__readings", [spec])[0]
    assert not out.passed and out.severity == ERROR and "name no intermediate.batches" in out.message
    with connect(home) as con:  # a handful of rows is never judged
        con.execute("DELETE FROM staging.stg_mes__readings WHERE ts > TIMESTAMP "
                    "'2024-01-01 00:00:30'")
    assert validate_model(home, "stg_mes__readings", [spec])[0].passed


def test_a_model_left_standing_keeps_its_own_rows_verdicts_and_rechecks_references(home):
    """After a partial build (lib/partial_build.py) a model that was not rebuilt keeps the
    outcomes that depend on its own rows only (row-level, uniqueness, minimum rows), as the
    run that built it recorded them, and is judged again on what reads other tables. The
    outcome equals a full validation of the same rows."""
    from orchestration.lib.quality.gate import run_checks

    with connect(home) as con:
        con.execute("CREATE TABLE intermediate.batches AS SELECT '20240315-L02-003' AS batch_code")
    specs = [S("not_null__value", "not_null", ["value"]),
             S("in_set__parameter", "in_set", ["parameter"], WARN,
               value_set=["temperature", "pressure"]),
             S("unique_k", "unique", ["equipment_id", "ts", "parameter", "_source_file"], WARN),
             S("rows_min", "row_count_min", [], ERROR, min_rows=10),
             S("batch_known", "referential", ["batch"], ERROR, ref="intermediate.batches",
               ref_column="batch_code", warn=0.05, error=0.5, min_rows=50)]
    suites = {"stg_mes__readings": specs}
    full = run_checks(home, suites, "built")["stg_mes__readings"]
    with duckdb.connect(str(home.warehouse)) as con:  # proves what is read, not recomputed
        con.execute("UPDATE governance.check_results SET message = 'as recorded: ' || message "
                    "WHERE run_id = 'built' AND check_name = 'not_null__value'")
    partial = run_checks(home, suites, "later",
                         standing={"stg_mes__readings": "built"})["stg_mes__readings"]
    by = {o.check_name: o for o in partial}
    assert by["not_null__value"].message.startswith("as recorded: ")
    assert by["not_null__value"].details == {"unchanged_since_run": "built"}
    assert by["in_set__parameter"].details == {"unchanged_since_run": "built"}
    assert by["unique_k"].details == {"unchanged_since_run": "built"}  # its own rows
    assert by["rows_min"].details == {"unchanged_since_run": "built"}
    assert "unchanged_since_run" not in by["batch_known"].details  # reads another table
    verdict = lambda outs: sorted((o.check_name, o.severity, o.passed, o.observed_value)
                                  for o in outs)
    assert verdict(partial) == verdict(full)
    # the referenced table changes while the model stands: that check's verdict follows
    with connect(home) as con:
        con.execute("DELETE FROM intermediate.batches")
    moved = {o.check_name: o for o in run_checks(
        home, suites, "moved", standing={"stg_mes__readings": "built"})["stg_mes__readings"]}
    assert not moved["batch_known"].passed and moved["batch_known"].severity == ERROR
    assert moved["unique_k"].passed == by["unique_k"].passed
    with connect(home) as con:
        con.execute("INSERT INTO intermediate.batches VALUES ('20240315-L02-003')")
    recorded = lambda run: sorted(r[0] for r in duckdb.connect(
        str(home.warehouse), read_only=True).execute(
        "SELECT check_name FROM governance.check_results WHERE run_id = ?", [run]).fetchall())
    assert recorded("later") == recorded("built")  # the history has every check of each run
    # a standing model whose earlier outcome is missing is simply validated
    again = run_checks(home, suites, "third", standing={"stg_mes__readings": "no-such-run"})
    assert verdict(again["stg_mes__readings"]) == verdict(full)
    # several standing models, built by different runs
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute("CREATE TABLE intermediate.int_x AS SELECT i % 3 AS k FROM range(6) t(i)")
    two = {**suites, "int_x": [S("not_null__k", "not_null", ["k"])]}
    run_checks(home, {"int_x": two["int_x"]}, "built-x")
    both = run_checks(home, two, "fourth",
                      standing={"stg_mes__readings": "built", "int_x": "built-x"})
    assert both["int_x"][0].details == {"unchanged_since_run": "built-x"}
    assert verdict(both["stg_mes__readings"]) == verdict(full)
