"""Incremental staging by delivered file (macros/staging/incremental_by_file.sql).

base_mes__process_readings and base_mes__serials are dbt incremental models: a run conforms
only the rows of (_source_file, _file_sha256) pairs not yet in the table, drops the rows of
pairs no longer in raw, and re-conforms everything when the conformance SQL (dictionary)
changes. After every step the tables must equal a `--full-refresh` rebuild of a copy of the
same warehouse: same columns in the same order, same rows.

Real ingest (tiny hand-written exports) and real dbt, in-process (dbtRunner, parsed once).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.dictionary import load_dictionary, publish
from orchestration.lib.ingest.landing import ingest_entity
from orchestration.lib.settings import DBT_PROJECT_DIR, get_settings
from orchestration.lib.warehouse import connect

MODELS = ("base_mes__process_readings", "base_mes__serials")
READINGS_HEADER = "equipment_id,ts,parameter,value,unit\n"
SERIALS_HEADER = "serial_no,batch,produced_at\n"
UNITS = [("temperature", "℃", 25.0), ("temperature", "F", 77.0), ("pressure", "kPa", 501.0),
         ("pressure", "bar", 5.01), ("speed", "mm/s", 15.0), ("humidity", "%RH", 45.0)]


def _readings(day: int, n: int, bump: float = 0.0) -> str:
    rows = []
    for i in range(n):
        param, unit, base = UNITS[i % len(UNITS)]
        rows.append(f"SMT-L01-0{1 + i % 3},2024-01-{day:02d} {i // 60 % 24:02d}:{i % 60:02d}:07,"
                    f"{param},{base + i * 0.01 + bump:.2f},{unit}\n")
    rows.append(f"SMT-L01-01,2024-01-{day:02d} 23:59:59,pressure,1.5,furlongs\n")  # unknown unit
    rows.append("SMT-L01-01,not a time,pressure,1.5,kPa\n")  # invalid timestamp
    return READINGS_HEADER + "".join(rows)


def _serials(day: int, n: int) -> str:
    return SERIALS_HEADER + "".join(
        f"SNP00110011{day:02d}{i:02d},202401{day:02d}-L1-001,2024-01-{day:02d} 04:{i % 60:02d}:29\n"
        for i in range(n))


class Plant:
    """A home with the dictionary published and mes readings/serials ingested; dbt in-process."""

    def __init__(self, root: Path):
        self.root = root
        self.exports = root / "exports"
        (self.exports / "mes").mkdir(parents=True)
        self.settings = get_settings(root / "home", self.exports)
        self.settings.home.mkdir(parents=True)
        self.dictionary = load_dictionary()
        with connect(self.settings) as con:
            publish(self.dictionary, con)
        self.target = root / "dbt_target"
        self.manifest = None
        self.refreshes = 0

    def write(self, name: str, text: str) -> None:
        path = self.exports / "mes" / name
        path.write_text(text, encoding="utf-8")
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 1))  # a new mtime

    def ingest(self) -> None:
        for entity in ("process_readings", "serials"):
            ingest_entity(self.settings, self.dictionary, "mes", entity)

    def sql(self, query: str, warehouse: Path | None = None) -> list[tuple]:
        con = duckdb.connect(str(warehouse or self.settings.warehouse))
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()

    def dbt(self, *args: str, warehouse: Path | None = None, select=MODELS):
        from dbt.cli.main import dbtRunner

        os.environ["QUALITRACE_WAREHOUSE"] = str(warehouse or self.settings.warehouse)
        os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        common = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                  "--target-path", str(self.target if warehouse is None else self.root / "ref_target"),
                  "--log-path", str(self.root / "dbt_logs")]
        if self.manifest is None:
            res = dbtRunner().invoke(["parse", "--quiet", *common])
            assert res.success, res.exception
            self.manifest = res.result
        res = dbtRunner(manifest=self.manifest).invoke(
            [*args, "--quiet", *(["--select", *select] if select else []), *common])
        assert res.success, (res.exception, [(r.node.name, r.status, r.message)
                                             for r in (res.result or [])])
        return res.result

    def compiled(self, model: str) -> str:
        return (self.target / "compiled" / "qualitrace" / "models" / "staging" / "mes"
                / f"{model}.sql").read_text(encoding="utf-8")

    def table(self, model: str, warehouse: Path | None = None) -> tuple[list, list]:
        """(columns with types in order, sorted rows) of staging.<model>."""
        con = duckdb.connect(str(warehouse or self.settings.warehouse))
        try:
            cols = con.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = "
                f"'staging' and table_name = '{model}' order by column_index").fetchall()
            rows = con.execute(f"select * from staging.{model}").fetchall()
            return cols, sorted(rows, key=repr)
        finally:
            con.close()

    def build_and_compare(self) -> None:
        """dbt run (incremental), then a --full-refresh of a copy: the tables must be equal."""
        self.dbt("run")
        self.sql("checkpoint")  # the copy must hold every committed change (no WAL)
        self.refreshes += 1  # dbt keeps databases open in-process: a new file every time
        ref = self.root / f"full_refresh_{self.refreshes}" / "warehouse.duckdb"  # same catalog
        ref.parent.mkdir()
        shutil.copyfile(self.settings.warehouse, ref)
        self.dbt("run", "--full-refresh", warehouse=ref)
        for model in MODELS:
            cols, rows = self.table(model)
            assert "_conform_hash" in [c for c, _ in cols]
            assert (cols, rows) == self.table(model, ref), model
            assert len(rows) == self.sql(f"select count(*) from raw.{model[5:]}")[0][0], model


def _filtered_files(sql: str) -> list[str] | None:
    """The files an incremental compile selects (None = no file filter: every row)."""
    if "where 1 = 0" in sql:
        return []
    m = re.search(r"_by_file\._source_file in \(([^)]*)\)", sql)
    return None if m is None else sorted(re.findall(r"'([^']*)'", m.group(1)))


@pytest.fixture(scope="module")
def plant(tmp_path_factory) -> Plant:
    p = Plant(tmp_path_factory.mktemp("incr"))
    p.write("process_readings_20240102.csv", _readings(2, 120))
    p.write("process_readings_20240104.csv", _readings(4, 90))
    p.write("serials_20240102.csv", _serials(2, 40))
    p.write("serials_20240104.csv", _serials(4, 30))
    p.ingest()
    return p


def test_incremental_base_models_equal_full_rebuild(plant):
    readings, serials = MODELS
    # first build: the table is created from every row
    plant.build_and_compare()
    assert plant.sql(f"select count(*) from staging.{readings} where _reject_reason is not null") \
        == [(4,)]

    # nothing new: no row conformed
    plant.build_and_compare()
    assert _filtered_files(plant.compiled(readings)) == []

    # a new day: only its files are conformed
    plant.write("process_readings_20240107.csv", _readings(7, 60))
    plant.write("serials_20240107.csv", _serials(7, 20))
    plant.ingest()
    plant.build_and_compare()
    assert _filtered_files(plant.compiled(readings)) == ["mes/process_readings_20240107.csv"]
    assert _filtered_files(plant.compiled(serials)) == ["mes/serials_20240107.csv"]

    # a file re-delivered with new content: the old version's rows leave, the new ones arrive
    plant.write("process_readings_20240104.csv", _readings(4, 70, bump=1.0))
    plant.ingest()
    plant.build_and_compare()
    assert _filtered_files(plant.compiled(readings)) == ["mes/process_readings_20240104.csv"]
    assert plant.sql(f"select count(distinct _file_sha256) from staging.{readings} "
                     "where _source_file = 'mes/process_readings_20240104.csv'") == [(1,)]

    # rows leave raw (e.g. a file quarantined or withdrawn): they leave the table
    plant.sql("delete from raw.mes__serials where _source_file = 'mes/serials_20240102.csv'")
    plant.build_and_compare()
    assert plant.sql(f"select count(*) from staging.{serials} "
                     "where _source_file = 'mes/serials_20240102.csv'") == [(0,)]

    # a dictionary change (kPa conversion) changes the conformance: every row is re-conformed
    before = plant.sql(f"select sum(value) from staging.{readings} where unit = 'kPa'")
    plant.sql("update dictionary.units set factor = factor * 2 where spelling = 'kPa'")
    plant.build_and_compare()
    assert _filtered_files(plant.compiled(readings)) == [
        "mes/process_readings_20240102.csv", "mes/process_readings_20240104.csv",
        "mes/process_readings_20240107.csv"]
    assert plant.sql(f"select sum(value) from staging.{readings} where unit = 'kPa'") != before
    assert plant.sql(f"select count(distinct _conform_hash) from staging.{readings}") == [(1,)]


# ------------------------------------------------ readings: rank only the repeated keys
# The models as they were (every reading ranked by latest_version): the reference.
REFERENCE = {
    "int_readings_excursions": """
with outside as (
    select r.equipment_id, sp.equipment_type, sp.line, r.parameter, r.ts, r.value,
        r.value_as_delivered, r.unit as unit_as_delivered, sp.target, sp.lsl, sp.usl,
        sp.spec_scope,
        case when r.value < sp.lsl then 'below_lsl' else 'above_usl' end as direction,
        r._source_file, r._source_row
    from {{ latest_version(ref('stg_mes__process_readings')) }} as r
    inner join {{ ref('int_equipment_specs') }} as sp
        on sp.equipment_id = r.equipment_id and sp.parameter = r.parameter
    where r.value < sp.lsl or r.value > sp.usl
)
select o.*, b.batch_code
from outside as o
left join {{ ref('int_batches_enriched') }} as b
    on b.line = o.line and o.ts >= b.batch_start and o.ts <= b.batch_end""",
    "int_spc_subgroups": """
with subgroups as (
    select equipment_id, parameter, {{ dbt.date_trunc('hour', 'ts') }} as subgroup_start,
        avg(value) as subgroup_mean, count(*) as readings
    from {{ latest_version(ref('stg_mes__process_readings')) }} as r
    where value is not null and parameter is not null
    group by equipment_id, parameter, {{ dbt.date_trunc('hour', 'ts') }}
),
ordered as (
    select s.*,
        row_number() over (partition by equipment_id, parameter order by subgroup_start) as seq,
        abs(subgroup_mean - lag(subgroup_mean) over (
            partition by equipment_id, parameter order by subgroup_start)) as moving_range
    from subgroups as s
),
limits as (
    select equipment_id, parameter, avg(subgroup_mean) as center_line,
        avg(moving_range) / 1.128 as sigma, count(*) as subgroups
    from ordered group by equipment_id, parameter
)
select o.equipment_id, o.parameter, o.seq, o.subgroup_start,
    {{ dbt.dateadd('hour', 1, 'o.subgroup_start') }} as subgroup_end, o.subgroup_mean, o.readings,
    l.center_line, l.sigma,
    case when l.sigma > 0 then (o.subgroup_mean - l.center_line) / l.sigma end as z
from ordered as o
inner join limits as l on l.equipment_id = o.equipment_id and l.parameter = o.parameter
where l.subgroups >= 8""",
}

STG_COLUMNS = """equipment_id varchar, ts timestamp, parameter varchar, parameter_as_typed varchar,
    value double, value_as_delivered double, unit varchar, unit_is_known boolean, _extra varchar,
    _source_file varchar, _source_row bigint, _file_sha256 varchar, _loaded_at timestamp,
    _conform_hash varchar"""


def _readings_rows() -> list[tuple]:
    """Three machines x two parameters x 12 hours, plus keys delivered more than once."""
    rows, n = [], 0

    def add(eq, ts, param, value, file="mes/process_readings_20240102.csv", row=None):
        nonlocal n
        n += 1
        rows.append((eq, ts, param, param, value, value, "u", True, None, file,
                     row if row is not None else n + 1, "sha-" + file, "2024-02-01 00:00:00", "h"))

    for eq in ("REF-L01-01", "REF-L01-02", "SMT-L02-01"):
        for param, base in (("temperature", 225.0), ("pressure", 100.0)):
            for hour in range(12):
                for minute in (5, 35):
                    add(eq, f"2024-01-01 {hour:02d}:{minute:02d}:00", param,
                        base + ((hour * 7 + minute) % 11 - 5) * (4.0 if hour == 6 else 1.0))
    later, same_day = "mes/process_readings_20240103.csv", "mes/process_readings_20240102_2.csv"
    # outside, then re-sent inside: no excursion; inside, then re-sent outside: one
    add("REF-L01-01", "2024-01-01 03:10:00", "temperature", 300.0)
    add("REF-L01-01", "2024-01-01 03:10:00", "temperature", 230.0, file=later)
    add("REF-L01-01", "2024-01-01 04:10:00", "temperature", 230.0)
    add("REF-L01-01", "2024-01-01 04:10:00", "temperature", 170.0, file=later)
    # the same key twice in one later file: the last row wins
    add("REF-L01-02", "2024-01-01 05:35:00", "pressure", 150.0, file=same_day, row=5)
    add("REF-L01-02", "2024-01-01 05:35:00", "pressure", 101.0, file=same_day, row=9)
    # re-sent without a value: the reading leaves its subgroup
    add("SMT-L02-01", "2024-01-01 07:05:00", "temperature", None, file=later)
    # no parameter (unknown spelling), sent twice
    add("REF-L01-01", "2024-01-01 08:05:00", None, 999.0)
    add("REF-L01-01", "2024-01-01 08:05:00", None, 998.0, file=later)
    return rows


def test_readings_models_rank_only_repeated_keys_same_rows(plant):
    """int_readings_excursions and int_spc_subgroups rank only keys with several versions:
    the same rows as ranking every reading (the models as they were), on readings with
    re-sent keys (outside then inside, inside then outside, twice in one file, value gone)."""
    wh = plant.root / "readings" / "warehouse.duckdb"  # same catalog name as the manifest's
    wh.parent.mkdir()
    con = duckdb.connect(str(wh))
    try:
        publish(plant.dictionary, con)
        con.execute("create schema staging; create schema intermediate")
        con.execute(f"create table staging.stg_mes__process_readings ({STG_COLUMNS})")
        con.executemany("insert into staging.stg_mes__process_readings values "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _readings_rows())
        con.execute("""create table intermediate.int_equipment_specs as select * from (values
            ('REF-L01-01', 'REF', 'L01', 'temperature', 225.0, 200.0, 250.0, 'equipment'),
            ('REF-L01-01', 'REF', 'L01', 'pressure', 100.0, 90.0, 110.0, 'equipment'),
            ('REF-L01-02', 'REF', 'L01', 'pressure', 100.0, 97.0, 103.0, 'equipment_type'))
            as t(equipment_id, equipment_type, line, parameter, target, lsl, usl, spec_scope)""")
        con.execute("""create table intermediate.int_batches_enriched as select * from (values
            ('20240101-L01-001', 'L01', timestamp '2024-01-01 00:00:00', timestamp '2024-01-01 05:00:00'),
            ('20240101-L01-002', 'L01', timestamp '2024-01-01 06:00:00', timestamp '2024-01-01 11:00:00'))
            as t(batch_code, line, batch_start, batch_end)""")
    finally:
        con.close()
    models = list(REFERENCE)
    plant.dbt("compile", warehouse=wh, select=models)
    compiled = {m: (plant.root / "ref_target" / "compiled" / "qualitrace" / "models"
                    / "intermediate" / f"{m}.sql").read_text(encoding="utf-8") for m in models}
    reference = {}
    for m in models:
        res = plant.dbt("compile", "--inline", REFERENCE[m], warehouse=wh, select=())
        reference[m] = res.results[0].node.compiled_code
    con = duckdb.connect(str(wh))
    try:
        for m in models:
            assert "_lv_rank" in compiled[m], m  # ranked by the latest_version macro
            new = con.execute(compiled[m])
            cols = [d[0] for d in new.description]
            new_rows = new.fetchall()
            ref = con.execute(reference[m])
            assert cols == [d[0] for d in ref.description], m
            rnd = lambda rows: sorted((tuple(round(v, 9) if isinstance(v, float) else v
                                             for v in r) for r in rows), key=repr)
            assert rnd(new_rows) == rnd(ref.fetchall()), m
            assert new_rows, m
        excursions = {(r[0], str(r[4]), r[-1]) for r in con.execute(compiled[models[0]]).fetchall()}
        assert ("REF-L01-01", "2024-01-01 03:10:00", "20240101-L01-001") not in excursions
        assert ("REF-L01-01", "2024-01-01 04:10:00", "20240101-L01-001") in excursions
        assert not any(eq == "REF-L01-02" and ts == "2024-01-01 05:35:00" for eq, ts, _ in excursions)
    finally:
        con.close()
