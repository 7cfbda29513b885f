"""Staging / intermediate / governance layers against the generator's truth.json.

`check_against_truth(warehouse, truth)` compares one built warehouse with its plant's truth
and returns the list of problems (empty = pass). It runs on:
- the shared full pipeline run (conftest `pipeline_home`, seed 11), and
- a second plant (another seed, not tuned to) landed with the ingest library and built with
  real `dbt run` of the staging, intermediate and governance layers only.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.lib.dictionary.tables import regex_literal
from tests.support.builds import dbt_run, land_plant
from tests.support.runs import generate_plant

SECOND_SEED = 23
SECOND_SCALE = 0.01


def _rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def check_against_truth(warehouse: Path, truth: dict) -> list[str]:
    """Every acceptance rule of issue 5 (staging/intermediate) checked; returns the failures."""
    problems: list[str] = []
    tc = truth["complaints"]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        resolved = {cid: (batch, method) for cid, batch, method in _rows(
            con, "select complaint_id, batch_code, trace_method "
                 "from intermediate.int_complaints_batch_resolved")}
        # distinct complaints: count and identity (first id entered)
        if len(resolved) != truth["distinct_complaints"]:
            problems.append(f"distinct complaints {len(resolved)} != truth {truth['distinct_complaints']}")
        truth_ids = {c for c, t in tc.items()
                     if not t["quarantined"] and t["distinct_complaint_id"] == c}
        if set(resolved) != truth_ids:
            problems.append(f"distinct ids differ: extra {sorted(set(resolved) - truth_ids)[:5]}, "
                            f"missing {sorted(truth_ids - set(resolved))[:5]}")
        # no wrong batch, >= 99% of derivable resolved
        wrong = [(c, b, tc[c]["true_batch_code"]) for c, (b, _) in resolved.items()
                 if b is not None and c in tc and b != tc[c]["true_batch_code"]]
        if wrong:
            problems.append(f"{len(wrong)} complaints got a wrong batch, e.g. {wrong[:3]}")
        derivable = [c for c in truth_ids if tc[c]["batch_derivable"]]
        ok = [c for c in derivable if resolved.get(c, (None,))[0] == tc[c]["true_batch_code"]]
        if derivable and len(ok) < 0.99 * len(derivable):
            problems.append(f"only {len(ok)}/{len(derivable)} derivable complaints resolved")
        methods = {m for _, m in resolved.values()}
        if not methods <= {"serial", "batch_code", "shipment", "none"}:
            problems.append(f"unexpected trace_method values {methods}")
        # duplicates: every truth duplicate group is one complaint listing the other ids
        dup_ids = dict(_rows(con, "select complaint_id, duplicate_ids "
                                  "from intermediate.int_complaints_deduplicated"))
        for group in truth.get("duplicate_groups", []):
            live = [g for g in group if not tc.get(g, {}).get("quarantined")]
            if len(live) < 2:
                continue
            first, others = live[0], ",".join(sorted(live[1:]))
            if dup_ids.get(first) != others:
                problems.append(f"duplicate group {live}: got duplicate_ids {dup_ids.get(first)!r}")
        # excursions: every planted batch flagged; nothing flagged elsewhere
        flagged = {r[0] for r in _rows(con, "select distinct batch_code from "
                                            "intermediate.int_batch_excursions")}
        planted = {b for e in truth["excursions"] for b in e["batch_codes"]}
        if planted - flagged:
            problems.append(f"planted excursion batches not flagged: {sorted(planted - flagged)}")
        if flagged - planted:
            problems.append(f"excursions flagged outside planted windows: {sorted(flagged - planted)[:10]}")
        windows = [(e["equipment_id"], e["parameter"], e["start"], e["end"]) for e in truth["excursions"]]
        stray = _rows(con, "select equipment_id, parameter, cast(ts as varchar) "
                           "from intermediate.int_readings_excursions")
        outside = [s for s in stray if not any(
            s[0] == w[0] and s[1] == w[1] and w[2][:19].replace("T", " ") <= s[2][:19] <= w[3][:19].replace("T", " ")
            for w in windows)]
        if outside:
            problems.append(f"{len(outside)} readings flagged outside planted windows, e.g. {outside[:3]}")
        # quarantine: every truth row / file is there with its reason
        got = {(f, r, c) for f, r, c in _rows(
            con, "select source_file, source_row, reason_code from governance.quarantine")}
        for q in truth["quarantine"]["rows"]:
            if (q["path"], q["source_row"], q["reason_code"]) not in got:
                problems.append(f"quarantine row missing: {q}")
        for q in truth["quarantine"]["files"]:
            if (q["path"], None, q["reason_code"]) not in got:
                problems.append(f"quarantined file missing: {q}")
        expected_rows = len(truth["quarantine"]["rows"])
        staged_rejects = _rows(con, "select count(*) from governance.quarantine "
                                    "where source_row is not null")[0][0]
        if staged_rejects != expected_rows:
            problems.append(f"{staged_rejects} rows quarantined, truth lists {expected_rows}")
        # dictionary gaps: the planted unknown header and unit are reported
        gaps = {(f, v) for f, v in _rows(con, "select field, value_seen from governance.dictionary_gaps")}
        for g in truth.get("dictionary_gaps", []):
            if (g["field"], g["value_seen"]) not in gaps:
                problems.append(f"dictionary gap not reported: {g}")
        # manifest reconciles: rows_read = rows_staged + rows_quarantined for loaded files
        bad = _rows(con, "select path from governance.file_manifest where status = 'loaded' "
                         "and rows_read <> rows_staged + rows_quarantined")
        if bad:
            problems.append(f"file_manifest does not reconcile for {bad[:5]}")
    finally:
        con.close()
    return problems


def check_privacy(warehouse: Path) -> list[str]:
    """Customer names and phones appear in no relation outside `raw`; phones are masked."""
    problems: list[str] = []
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        secrets = {v for (v,) in _rows(con, """
            select distinct trim(customer_name) from raw.crm__complaints where trim(customer_name) <> ''
            union select distinct regexp_replace(customer_phone, '[^0-9]', '', 'g')
            from raw.crm__complaints where length(regexp_replace(customer_phone, '[^0-9]', '', 'g')) >= 7
        """)}
        assert secrets, "the plant has no customer names or phones to check"
        # one regex of every secret (literals), matched once per row of each table over its
        # text columns joined by a separator no secret holds; the columns of a table with a
        # hit are then checked one by one to name them
        pattern = "|".join(regex_literal(v) for v in sorted(secrets, key=len, reverse=True))
        quoted = pattern.replace("'", "''")
        # every materialised table outside raw, plus the CRM staging views (other views only
        # read non-CRM sources)
        cols = _rows(con, """
            select c.table_schema, c.table_name, list(c.column_name order by c.ordinal_position)
            from information_schema.columns as c
            join information_schema.tables as t
              on t.table_schema = c.table_schema and t.table_name = c.table_name
            where c.table_schema not in ('raw', 'dictionary', 'information_schema', 'pg_catalog', 'main', 'temp')
              and c.data_type = 'VARCHAR'
              and (t.table_type = 'BASE TABLE' or t.table_name like '%crm\\_\\_complaints%' escape '\\')
            group by 1, 2""")

        def text(column: str) -> str:
            # a salted SHA-256 digest (alone, or inside a key such as distinct_key) or an MD5
            # fingerprint (_inputs_hash, _conform_hash) is no clear text, though a 7-digit
            # phone can occur in its 64 or 32 hex digits by chance (about once in five runs
            # over this plant): digests are cut out first
            return f"""coalesce(regexp_replace(t."{column}", '[0-9a-f]{{32,}}', '#', 'g'), '')"""

        def hits(schema: str, table: str, columns: list[str]) -> int:
            joined = " || chr(31) || ".join(text(c) for c in columns)
            return _rows(con, f'select count(*) from "{schema}"."{table}" t '
                              f"where regexp_matches({joined}, '{quoted}')")[0][0]

        for schema, table, columns in cols:
            if hits(schema, table, columns):
                for column in columns:
                    hit = hits(schema, table, [column])
                    if hit:
                        problems.append(f"{schema}.{table}.{column} holds personal data in clear "
                                        f"({hit} rows)")
        bad = _rows(con, r"""select customer_phone_masked from intermediate.int_complaints_deduplicated
                             where customer_phone_masked is not null
                               and not regexp_full_match(customer_phone_masked, '\d{3}\*{4}\d{4}')""")
        if bad:
            problems.append(f"phones not masked as 138****1234: {bad[:3]}")
        keys = _rows(con, "select count(*), count(customer_key) from intermediate.int_complaints_deduplicated "
                          "where customer_key is not null and not regexp_full_match(customer_key, '[0-9a-f]{64}')")
        if keys[0][0]:
            problems.append("customer_key is not a SHA-256 hex digest")
    finally:
        con.close()
    return problems


def build_core_layers(exports: Path, home: Path, salt: str = "test-salt") -> Path:
    """Land a plant, then `dbt run` staging, intermediate and governance models (real dbt,
    real DuckDB; the data and unit tests run in the full pipeline's `dbt build`). Returns
    the warehouse path."""
    settings = land_plant(exports, home)
    dbt_run(settings, "--select", "path:models/staging", "path:models/intermediate",
            "path:models/governance", "--exclude", "path:models/intermediate/marts_support",
            "--vars", f'{{"pii_salt": "{salt}"}}')
    return settings.warehouse


@pytest.fixture(scope="module")
def second_plant(tmp_path_factory):
    root = tmp_path_factory.mktemp("dbt_second_plant")
    plant = generate_plant(root / "exports", scale=SECOND_SCALE, seed=SECOND_SEED)
    return plant, build_core_layers(plant.exports, root / "home")


@pytest.mark.integration
def test_core_layers_match_truth_on_pipeline_plant(plant, pipeline_home):
    problems = check_against_truth(pipeline_home.warehouse, plant.truth)
    assert not problems, "\n".join(problems)


@pytest.mark.integration
def test_core_layers_match_truth_on_second_seed(second_plant):
    plant, warehouse = second_plant
    problems = check_against_truth(warehouse, plant.truth)
    assert not problems, "\n".join(problems)


@pytest.mark.integration
def test_personal_data_only_in_raw(second_plant):
    _, warehouse = second_plant
    problems = check_privacy(warehouse)
    assert not problems, "\n".join(problems)


@pytest.mark.integration
def test_personal_data_only_in_raw_after_full_pipeline(pipeline_home):
    problems = check_privacy(pipeline_home.warehouse)
    assert not problems, "\n".join(problems)


@pytest.mark.integration
def test_spc_rules_found_on_planted_excursion(second_plant):
    """The planted excursion machine breaks at least one Western Electric rule."""
    plant, warehouse = second_plant
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute("select distinct equipment_id, parameter, rule "
                           "from intermediate.int_spc_violations").fetchall()
    finally:
        con.close()
    for e in plant.truth["excursions"]:
        assert any(r[0] == e["equipment_id"] and r[1] == e["parameter"] for r in rows), e


def test_the_privacy_check_names_a_column_holding_a_name_or_a_phone(tmp_path):
    """check_privacy finds a customer's name or phone digits anywhere in a text column (not
    inside a SHA-256 digest), and names the column."""
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    digest = "0" * 20 + "13800001234" + "f" * 33
    con.execute("""
        create schema raw; create schema staging; create schema intermediate;
        create table raw.crm__complaints as
            select * from (values ('王小明', '138-0000-1234'), ('O''Brien (Jo)', '+1 555 0101 999'))
            as t(customer_name, customer_phone);
        create table staging.notes as select * from (values
            ('a', 'called 13800001234 twice', 'x'), ('b', 'fine', 'contact O''Brien (Jo)'),
            ('c', 'ok', 'ok')) as t(id, note, other);
        create table intermediate.int_complaints_deduplicated as
            select '138****1234' as customer_phone_masked, repeat('a', 64) as customer_key""")
    con.execute("create table staging.keys as select ? as distinct_key", [digest])
    con.close()
    assert check_privacy(warehouse) == [
        "staging.notes.note holds personal data in clear (1 rows)",
        "staging.notes.other holds personal data in clear (1 rows)"]
