"""Incremental staging by delivered file (macros/staging/incremental_by_file.sql).

Every base_<system>__<entity> is a dbt incremental model (tested here: mes process_readings and
serials, crm complaints and erp shipments): a run conforms
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

pytestmark = pytest.mark.integration  # builds dbt over a plant

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
    # an unknown unit: a dictionary gap, kept with its value NULL (not a reject)
    rows.append(f"SMT-L01-01,2024-01-{day:02d} 23:59:59,pressure,1.5,furlongs\n")
    rows.append("SMT-L01-01,not a time,pressure,1.5,kPa\n")  # invalid timestamp
    return READINGS_HEADER + "".join(rows)


def _serials(day: int, n: int) -> str:
    return SERIALS_HEADER + "".join(
        f"SNP00110011{day:02d}{i:02d},202401{day:02d}-L1-001,2024-01-{day:02d} 04:{i % 60:02d}:29\n"
        for i in range(n))


class Plant:
    """A home with the dictionary published and some entities ingested (default: mes readings
    and serials); dbt in-process."""

    def __init__(self, root: Path, entities=(("mes", "process_readings"), ("mes", "serials"))):
        self.root = root
        self.entities = tuple(entities)
        self.models = tuple(f"base_{s}__{e}" for s, e in self.entities)
        self.exports = root / "exports"
        for system in {s for s, _ in self.entities}:
            (self.exports / system).mkdir(parents=True)
        self.settings = get_settings(root / "home", self.exports)
        self.settings.home.mkdir(parents=True)
        self.dictionary = load_dictionary()
        with connect(self.settings) as con:
            publish(self.dictionary, con)
        self.target = root / "dbt_target"
        self.manifest = None
        self.refreshes = 0

    def write(self, name: str, text: str, system: str = "mes") -> None:
        path = self.exports / system / name
        path.write_text(text, encoding="utf-8")
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 1))  # a new mtime

    def ingest(self) -> None:
        for system, entity in self.entities:
            ingest_entity(self.settings, self.dictionary, system, entity)

    def sql(self, query: str, warehouse: Path | None = None) -> list[tuple]:
        con = duckdb.connect(str(warehouse or self.settings.warehouse))
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()

    def dbt(self, *args: str, warehouse: Path | None = None, select=None, check=True):
        """dbt in-process; with `check` False, dbt's result (a failing test does not raise)."""
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
            [*args, "--quiet", *(["--select", *(self.models if select is None else select)]
                                 if select != () else []), *common])
        if not check:
            return res
        assert res.success, (res.exception, [(r.node.name, r.status, r.message)
                                             for r in (res.result or [])])
        return res.result

    def compiled(self, model: str) -> str:
        return (self.target / "compiled" / "qualitrace" / "models" / "staging"
                / model.split("_")[1] / f"{model}.sql").read_text(encoding="utf-8")

    def table(self, model: str, warehouse: Path | None = None,
              schema: str = "staging") -> tuple[list, list]:
        """(columns with types in order, sorted rows) of <schema>.<model>."""
        con = duckdb.connect(str(warehouse or self.settings.warehouse))
        try:
            cols = con.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = "
                f"'{schema}' and table_name = '{model}' order by column_index").fetchall()
            rows = con.execute(f"select * from {schema}.{model}").fetchall()
            return cols, sorted(rows, key=repr)
        finally:
            con.close()

    def full_refresh_copy(self, select=None) -> Path:
        """A copy of the warehouse rebuilt by `dbt run --full-refresh` (of `select`)."""
        self.sql("checkpoint")  # the copy must hold every committed change (no WAL)
        self.refreshes += 1  # dbt keeps databases open in-process: a new file every time
        ref = self.root / f"full_refresh_{self.refreshes}" / "warehouse.duckdb"  # same catalog
        ref.parent.mkdir()
        shutil.copyfile(self.settings.warehouse, ref)
        self.dbt("run", "--full-refresh", warehouse=ref, select=select)
        return ref

    def build_and_compare(self) -> None:
        """dbt run (incremental), then a --full-refresh of a copy: the tables must be equal."""
        self.dbt("run")
        ref = self.full_refresh_copy()
        for model in self.models:
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
        == [(2,)]  # the two invalid timestamps; the two unknown units are kept, value NULL
    assert plant.sql(f"select count(*) from staging.{readings} where unit = 'furlongs' and "
                     "value is null and not unit_is_known") == [(2,)]

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


def _readings_warehouse(plant: Plant, name: str) -> Path:
    """A warehouse of its own with the dictionary and staging.stg_mes__process_readings
    holding _readings_rows() (same catalog name as the manifest's)."""
    wh = plant.root / name / "warehouse.duckdb"
    wh.parent.mkdir()
    con = duckdb.connect(str(wh))
    try:
        publish(plant.dictionary, con)
        con.execute("create schema staging; create schema intermediate")
        con.execute(f"create table staging.stg_mes__process_readings ({STG_COLUMNS})")
        con.executemany("insert into staging.stg_mes__process_readings values "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _readings_rows())
    finally:
        con.close()
    return wh


def test_readings_models_rank_only_repeated_keys_same_rows(plant):
    """int_readings_excursions and int_spc_subgroups rank only keys with several versions:
    the same rows as ranking every reading (the models as they were), on readings with
    re-sent keys (outside then inside, inside then outside, twice in one file, value gone)."""
    wh = _readings_warehouse(plant, "readings")
    con = duckdb.connect(str(wh))
    try:
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
    # int_spc_subgroups reads int_spc_hourly; int_readings_excursions int_readings_outside
    kept = ["int_spc_hourly", "int_readings_outside"]
    plant.dbt("run", warehouse=wh, select=kept)
    plant.dbt("compile", warehouse=wh, select=[*models, *kept])
    compiled = {m: (plant.root / "ref_target" / "compiled" / "qualitrace" / "models"
                    / "intermediate" / f"{m}.sql").read_text(encoding="utf-8")
                for m in [*models, *kept]}
    reference = {}
    for m in models:
        res = plant.dbt("compile", "--inline", REFERENCE[m], warehouse=wh, select=())
        reference[m] = res.results[0].node.compiled_code
    con = duckdb.connect(str(wh))
    try:
        for m in models:
            ranked = "int_spc_hourly" if m == "int_spc_subgroups" else "int_readings_outside"
            assert "_lv_rank" in compiled[ranked], m  # ranked by the latest_version macro
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


# ------------------------------------------------ SPC subgroups: derived again per hour
SPC = ["int_spc_hourly", "int_spc_subgroups"]


def _intermediate_tables(plant: Plant, wh: Path, models: list[str]) -> list:
    return [plant.table(m, warehouse=wh, schema="intermediate") for m in models]


def _equal_to_full_refresh(plant: Plant, wh: Path, models: list[str], step: int) -> None:
    """`models` of `wh` equal a --full-refresh build of them on a copy of `wh`."""
    con = duckdb.connect(str(wh))
    con.execute("checkpoint")
    con.close()
    ref = wh.parent / f"{models[-1]}_full_refresh_{step}" / "warehouse.duckdb"  # same catalog
    ref.parent.mkdir()
    shutil.copyfile(wh, ref)
    plant.dbt("run", "--full-refresh", warehouse=ref, select=models)
    assert _intermediate_tables(plant, wh, models) == _intermediate_tables(plant, ref, models), step


def _add_readings(wh: Path, rows: list[tuple]) -> None:
    con = duckdb.connect(str(wh))
    con.executemany("insert into staging.stg_mes__process_readings values "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()


def _reading(eq, ts, param, value, file, row) -> tuple:
    """A stg_mes__process_readings row of a later delivery."""
    return (eq, ts, param, param, value, value, "u", True, None, file, row, "sha-" + file,
            "2024-02-02 00:00:00", "h")


def test_spc_hourly_derives_again_only_the_hours_whose_readings_changed(plant):
    """int_spc_hourly kept between builds, per hour (`_inputs_hash`), and int_spc_subgroups
    over it: equal to a --full-refresh build after a new day, a re-delivery that supersedes
    readings of an old hour, a late file for an old day, a withdrawn file, a reading whose
    value is gone and a stale fingerprint; hours whose readings did not change keep their row."""
    wh = _readings_warehouse(plant, "spc")
    plant.dbt("build", warehouse=wh, select=SPC)
    _equal_to_full_refresh(plant, wh, SPC, 0)

    untouched = "('SMT-L02-01', 'pressure', timestamp '2024-01-01 11:00:00')"
    mark = ("update intermediate.int_spc_hourly set readings = -1 where (equipment_id, "
            f"parameter, subgroup_start) = {untouched}")
    marked = ("select count(*) from intermediate.int_spc_hourly where readings = -1")
    unmark = ("update intermediate.int_spc_hourly as h set readings = (select count(*) from "
              "staging.stg_mes__process_readings as r where r.equipment_id = h.equipment_id "
              "and r.parameter = h.parameter and date_trunc('hour', r.ts) = h.subgroup_start) "
              "where readings = -1")
    steps = [
        # a new day (a new file: ingest lands a file version once, its rows never change)
        [_reading(eq, f"2024-01-02 {h:02d}:15:00", "temperature", 224.0 + h % 3,
                 "mes/process_readings_20240104.csv", 100 + h) for eq in ("REF-L01-01",)
         for h in range(9)],
        # a re-delivery superseding readings of an old hour, and a late file for an old day
        [_reading("REF-L01-02", "2024-01-01 02:05:00", "temperature", 260.0,
                 "mes/process_readings_20240105.csv", 2),
         _reading("REF-L01-02", "2024-01-01 02:50:00", "temperature", 222.0,
                 "mes/process_readings_20231231.csv", 2)],
        # a value re-sent empty: the reading leaves its hour
        [_reading("REF-L01-01", "2024-01-01 01:05:00", "pressure", None,
                 "mes/process_readings_20240106.csv", 2)],
    ]
    for i, rows in enumerate(steps, start=1):
        plant.sql(mark, warehouse=wh)
        _add_readings(wh, rows)
        plant.dbt("build", warehouse=wh, select=SPC)
        assert plant.sql(marked, warehouse=wh) == [(1,)], i  # not derived again
        plant.sql(unmark, warehouse=wh)
        plant.dbt("build", warehouse=wh, select=["int_spc_subgroups"])
        _equal_to_full_refresh(plant, wh, SPC, i)
    # a withdrawn file: its hours go back to the versions left
    plant.sql("delete from staging.stg_mes__process_readings "
              "where _source_file = 'mes/process_readings_20240105.csv'", warehouse=wh)
    plant.dbt("build", warehouse=wh, select=SPC)
    _equal_to_full_refresh(plant, wh, SPC, 4)
    # fingerprints another code version wrote: every hour derived again
    plant.sql(mark, warehouse=wh)
    plant.sql("update intermediate.int_spc_hourly set _inputs_hash = 'older code'", warehouse=wh)
    plant.dbt("build", warehouse=wh, select=SPC)
    assert plant.sql(marked, warehouse=wh) == [(0,)]
    _equal_to_full_refresh(plant, wh, SPC, 5)
    # the readings' definition changes (a view filtering the same file versions otherwise):
    # every hour derived again, though no version changed
    plant.sql(mark, warehouse=wh)
    plant.sql("alter table staging.stg_mes__process_readings rename to readings_kept; "
              "create view staging.stg_mes__process_readings as select * from "
              "staging.readings_kept where value is distinct from 222.0", warehouse=wh)
    plant.dbt("build", warehouse=wh, select=SPC)
    assert plant.sql(marked, warehouse=wh) == [(0,)]
    _equal_to_full_refresh(plant, wh, SPC, 6)
    # the same definition written again, its EXCLUDE list in another order (DuckDB keeps no
    # order there): no hour derived again
    for i, excluded in enumerate(["unit, _extra", "_extra, unit"]):
        plant.sql(mark, warehouse=wh)
        plant.sql("create or replace view staging.stg_mes__process_readings as select * "
                  f"exclude ({excluded}) from staging.readings_kept "
                  "where value is distinct from 222.0", warehouse=wh)
        plant.dbt("build", warehouse=wh, select=SPC)
        assert plant.sql(marked, warehouse=wh) == [(0 if i == 0 else 1,)], excluded
        plant.sql(unmark, warehouse=wh)


# ------------------------------------------------ excursions: derived again per day
EXCURSIONS = ["int_spc_hourly", "int_readings_outside", "int_readings_excursions"]


def test_readings_outside_derives_again_only_the_days_whose_readings_changed(plant):
    """int_readings_outside kept between builds, per day (`_inputs_hash`, from
    int_spc_hourly's hourly fingerprints and the specs), and int_readings_excursions over it:
    equal to a --full-refresh build after a new day, a re-delivery that supersedes readings of
    an old day (outside then inside, inside then outside), a late file for an old day, a value
    re-sent empty, a withdrawn file, a spec change, new batches and a stale fingerprint; days
    whose readings did not change keep their rows."""
    wh = _readings_warehouse(plant, "excursions")
    specs = """create or replace table intermediate.int_equipment_specs as select * from (values
        ('REF-L01-01', 'REF', 'L01', 'temperature', 225.0, 200.0, 250.0, 'equipment'),
        ('REF-L01-01', 'REF', 'L01', 'pressure', 100.0, 90.0, 110.0, 'equipment'),
        ('REF-L01-02', 'REF', 'L01', 'temperature', 225.0, 215.0, 235.0, 'equipment_type'),
        ('REF-L01-02', 'REF', 'L01', 'pressure', 100.0, 97.0, {usl}, 'equipment_type'))
        as t(equipment_id, equipment_type, line, parameter, target, lsl, usl, spec_scope)"""
    plant.sql(specs.format(usl="103.0"), warehouse=wh)
    plant.sql("""create table intermediate.int_batches_enriched as select * from (values
        ('20240101-L01-001', 'L01', timestamp '2024-01-01 00:00:00', timestamp '2024-01-01 05:00:00'),
        ('20240101-L01-002', 'L01', timestamp '2024-01-01 06:00:00', timestamp '2024-01-01 11:00:00'))
        as t(batch_code, line, batch_start, batch_end)""", warehouse=wh)
    plant.dbt("build", warehouse=wh, select=EXCURSIONS)
    assert plant.sql("select count(*) from intermediate.int_readings_excursions",
                     warehouse=wh)[0][0] > 0
    _equal_to_full_refresh(plant, wh, EXCURSIONS, 0)

    # a day whose readings no step touches: its rows must not be derived again
    _add_readings(wh, [_reading("REF-L01-01", "2023-12-30 10:05:00", "temperature", 280.0,
                 "mes/process_readings_20231230.csv", 2)])
    plant.dbt("build", warehouse=wh, select=EXCURSIONS)
    mark = ("update intermediate.int_readings_outside set value_as_delivered = -1 "
            "where reading_day = timestamp '2023-12-30 00:00:00'")
    marked = ("select count(*) from intermediate.int_readings_outside "
              "where value_as_delivered = -1")
    unmark = ("update intermediate.int_readings_outside set value_as_delivered = 280.0 "
              "where value_as_delivered = -1")
    steps = [
        # a new day (a new file), with readings outside the window
        [_reading("REF-L01-01", f"2024-01-02 {h:02d}:15:00", "temperature", 224.0 + h * 4,
                 "mes/process_readings_20240104.csv", 100 + h) for h in range(9)],
        # a re-delivery superseding readings of an old day (outside -> inside and
        # inside -> outside), and a late file for an old day
        [_reading("REF-L01-01", "2024-01-01 06:05:00", "temperature", 225.0,
                 "mes/process_readings_20240105.csv", 2),
         _reading("REF-L01-02", "2024-01-01 02:05:00", "temperature", 260.0,
                 "mes/process_readings_20240105.csv", 3),
         _reading("REF-L01-02", "2023-12-31 02:50:00", "pressure", 120.0,
                 "mes/process_readings_20231231.csv", 2)],
        # a value re-sent empty: the reading is no excursion any more
        [_reading("REF-L01-01", "2024-01-02 08:15:00", "temperature", None,
                 "mes/process_readings_20240106.csv", 2)],
    ]
    for i, rows in enumerate(steps, start=1):
        plant.sql(mark, warehouse=wh)
        _add_readings(wh, rows)
        plant.dbt("build", warehouse=wh, select=EXCURSIONS)
        assert plant.sql(marked, warehouse=wh) == [(1,)], i  # not derived again
        plant.sql(unmark, warehouse=wh)
        plant.dbt("run", warehouse=wh, select=["int_readings_excursions"])  # over the unmarked
        _equal_to_full_refresh(plant, wh, EXCURSIONS, i)
    # a withdrawn file: its day goes back to the versions left
    plant.sql("delete from staging.stg_mes__process_readings "
              "where _source_file = 'mes/process_readings_20240105.csv'", warehouse=wh)
    plant.dbt("build", warehouse=wh, select=EXCURSIONS)
    _equal_to_full_refresh(plant, wh, EXCURSIONS, 4)
    # a spec change: every day derived again; a new batch: attributed without deriving again
    plant.sql(specs.format(usl="150.0"), warehouse=wh)
    plant.sql("insert into intermediate.int_batches_enriched values ('20240102-L01-001', 'L01', "
              "timestamp '2024-01-02 00:00:00', timestamp '2024-01-02 23:00:00')", warehouse=wh)
    plant.dbt("build", warehouse=wh, select=EXCURSIONS)
    assert plant.sql("select count(*) from intermediate.int_readings_excursions "
                     "where batch_code = '20240102-L01-001'", warehouse=wh)[0][0] > 0
    _equal_to_full_refresh(plant, wh, EXCURSIONS, 5)
    # fingerprints another code version wrote: every day derived again
    plant.sql(mark, warehouse=wh)
    plant.sql("update intermediate.int_readings_outside set _inputs_hash = 'older code'",
              warehouse=wh)
    plant.dbt("build", warehouse=wh, select=EXCURSIONS)
    assert plant.sql(marked, warehouse=wh) == [(0,)]
    _equal_to_full_refresh(plant, wh, EXCURSIONS, 6)


# ------------------------------------------------ small entities: every base_ is incremental
COMPLAINTS_HEADER = ("complaint_id,channel,received_at,customer_name,customer_phone,province,"
                     "product_model,serial_no,batch_no,description,severity,status,updated_at,closed_at\n")
SHIPMENTS_HEADER = ("shipment_no\tline_no\tsales_order_no\tcustomer_code\tprovince\tproduct_code\t"
                    "batch_no\tqty\tunit\tshipped_at\tcarrier\tpromised_date\tdelivered_at\n")
PROVINCES = ("江苏省", "陕西", "湖北", "山东省")


def _complaints(day: int, n: int, first: int = 1, note: str = "") -> str:
    rows = [f"CS{day:02d}{first + i:05d},电商平台,2024-02-{day:02d} 1{i % 10}:14:02,张三,1360491{i:04d},"
            f"{PROVINCES[i % 4]},QE-20,SNP0003001000{i:02d}, 240101 L1 003 ,screen broken {note},"
            f"{'高' if i % 2 else '5'},open,2024-02-{day:02d} 1{i % 10}:14:02,\n" for i in range(n)]
    rows.append(f"CS{day:02d}99999,电商平台,2024-02-{day:02d} 10:00:00,李四,,江苏省,QE-20,,,,5,open,,\n")  # no description
    return COMPLAINTS_HEADER + "".join(rows)


def _shipments(day: int, n: int, qty: int = 40) -> str:
    rows = [f"FH2401{day:02d}{i:04d}\t1\tSO2401{day:02d}{i:04d}\tC000132\t{PROVINCES[i % 4]}\tP0031\t"
            f"B24010104002\t{qty + i}\t{'pcs' if i % 2 else ''}\t2024-01-{day:02d}T14:05:16+08:00\t中通快递\t"
            f"2024-01-{day + 3:02d}\t\n" for i in range(n)]
    rows.append(f"FH2401{day:02d}9999\t1\t\tC000132\t江苏省\tP0031\tB24010104002\tmany\tpcs\t"
                f"2024-01-{day:02d}T14:05:16+08:00\t\t\t\n")  # invalid number
    return SHIPMENTS_HEADER + "".join(rows)


@pytest.fixture(scope="module")
def small_plant(tmp_path_factory) -> Plant:
    p = Plant(tmp_path_factory.mktemp("incr_small"), entities=(("crm", "complaints"), ("erp", "shipments")))
    p.write("complaints_20240207.csv", _complaints(7, 12), system="crm")
    p.write("complaints_20240214.csv", _complaints(14, 9), system="crm")
    p.write("shipments_20240102.tsv", _shipments(2, 15), system="erp")
    p.write("shipments_20240104.tsv", _shipments(4, 10), system="erp")
    p.ingest()
    return p


def test_incremental_small_entities_equal_full_rebuild(small_plant):
    """crm complaints (extra columns: salted customer_key, masked phone) and erp shipments
    (unit default, province region) through the same scenarios as readings and serials."""
    plant = small_plant
    complaints, shipments = plant.models
    plant.build_and_compare()
    assert plant.sql(f"select count(*) from staging.{complaints} where _reject_reason is not null") == [(2,)]
    assert plant.sql(f"select count(*) from staging.{shipments} where _reject_reason is not null") == [(2,)]
    assert plant.sql(f"select count(*) from staging.{complaints} where customer_key is null") == [(0,)]

    # nothing new: no row conformed
    plant.build_and_compare()
    assert _filtered_files(plant.compiled(complaints)) == []
    assert _filtered_files(plant.compiled(shipments)) == []

    # a new week / day: only its files are conformed
    plant.write("complaints_20240221.csv", _complaints(21, 5), system="crm")
    plant.write("shipments_20240107.tsv", _shipments(7, 6), system="erp")
    plant.ingest()
    plant.build_and_compare()
    assert _filtered_files(plant.compiled(complaints)) == ["crm/complaints_20240221.csv"]
    assert _filtered_files(plant.compiled(shipments)) == ["erp/shipments_20240107.tsv"]

    # a file re-delivered with new content: the old version's rows leave, the new ones arrive
    plant.write("complaints_20240214.csv", _complaints(14, 7, note="again"), system="crm")
    plant.write("shipments_20240104.tsv", _shipments(4, 8, qty=90), system="erp")
    plant.ingest()
    plant.build_and_compare()
    assert _filtered_files(plant.compiled(complaints)) == ["crm/complaints_20240214.csv"]
    assert _filtered_files(plant.compiled(shipments)) == ["erp/shipments_20240104.tsv"]
    assert plant.sql(f"select count(distinct _file_sha256), count(*) from staging.{complaints} "
                     "where _source_file = 'crm/complaints_20240214.csv'") == [(1, 8)]
    assert plant.sql(f"select min(qty) from staging.{shipments} "
                     "where _source_file = 'erp/shipments_20240104.tsv'") == [(90.0,)]

    # rows leave raw: they leave the table
    plant.sql("delete from raw.crm__complaints where _source_file = 'crm/complaints_20240207.csv'")
    plant.sql("delete from raw.erp__shipments where _source_file = 'erp/shipments_20240102.tsv'")
    plant.build_and_compare()
    assert plant.sql(f"select count(*) from staging.{complaints} "
                     "where _source_file = 'crm/complaints_20240207.csv'") == [(0,)]
    assert plant.sql(f"select count(*) from staging.{shipments} "
                     "where _source_file = 'erp/shipments_20240102.tsv'") == [(0,)]

    # a dictionary change (the region of a province): every row of both is re-conformed
    plant.sql("update dictionary.provinces set region = 'Test region' where code = '320000'")
    plant.build_and_compare()
    for model, files in ((complaints, ["crm/complaints_20240214.csv", "crm/complaints_20240221.csv"]),
                         (shipments, ["erp/shipments_20240104.tsv", "erp/shipments_20240107.tsv"])):
        assert _filtered_files(plant.compiled(model)) == files, model
        assert plant.sql(f"select count(*) from staging.{model} where province_region = 'Test region'") \
            != [(0,)], model
        assert plant.sql(f"select count(distinct _conform_hash) from staging.{model}") == [(1,)], model


# ------------------------------------------------ complaints: cheaper int models, same rows
# The models as they were: every serial ranked; every complaint's description classified.
COMPLAINT_REFERENCE = {
    "int_complaints_batch_resolved": """
with serials as (
    select serial_no, min(batch_code) as batch_code, count(distinct batch_code) as batches
    from {{ latest_version(ref('stg_mes__serials')) }} as sn
    group by serial_no
),
known_batches as (
    select batch_code from {{ ref('int_batches_enriched') }}
)
select
    c.*,
    case when s.batches = 1 then s.batch_code when kb.batch_code is not null then kb.batch_code end as batch_code,
    case when s.batches = 1 then 'serial' when kb.batch_code is not null then 'batch_code' else 'none' end as trace_method,
    case when c.serial_no is null then null when s.batches = 1 then 'ok'
         when s.batches > 1 then 'ambiguous_serial' else 'unknown_serial' end as serial_flag,
    case when c.batch_code_flag = 'ok' and kb.batch_code is null then 'unknown_batch' else c.batch_code_flag end
        as batch_resolution_flag,
    case when s.batches = 1 and kb.batch_code is not null and kb.batch_code <> s.batch_code then true
         else false end as serial_batch_conflict
from {{ ref('int_complaints_deduplicated') }} as c
left join serials as s on s.serial_no = c.serial_no
left join known_batches as kb on kb.batch_code = c.batch_code_typed""",
    "int_complaints_deduplicated": """
with matched as (
    select d.complaint_id, {{ problem_matches('d.description') }} as problem_matches,
        {{ problem_evidence('d.description') }} as problem_evidence
    from {{ ref('int_complaints_distinct') }} as d
),
classified as (
    select m.complaint_id,
        {{ problem_primary('m.problem_matches') }} as problem_type_code,
        {{ problem_secondary('m.problem_matches') }} as secondary_problem_codes,
        m.problem_evidence
    from matched as m
)
select d.*, c.problem_type_code, {{ problem_category('c.problem_type_code') }} as problem_category,
    c.secondary_problem_codes, c.problem_evidence
from {{ ref('int_complaints_distinct') }} as d
inner join classified as c on c.complaint_id = d.complaint_id""",
}

DESCRIPTIONS = ["收到时包装破损，箱子压坏了", "the app control feature is missing", "screen broken",
                "充电时冒烟，有烧焦味", "机器不工作 no power", "好评", "", None, "漏水 leaking water"]


def test_complaint_models_same_rows_as_before(plant):
    """int_complaints_batch_resolved ranks only the serials complaints name and
    int_complaints_deduplicated classifies each distinct description once: the same rows as
    the models as they were, on serials re-sent to another batch, serials made twice
    (ambiguous), unknown serials and batches, repeated / blank / NULL descriptions."""
    wh = plant.root / "complaints" / "warehouse.duckdb"  # same catalog name as the manifest's
    wh.parent.mkdir()
    con = duckdb.connect(str(wh))
    try:
        publish(plant.dictionary, con)
        con.execute("create schema staging; create schema intermediate")
        con.execute("""create table staging.stg_mes__serials (serial_no varchar, batch varchar,
            produced_at timestamp, _source_file varchar, _source_row bigint, batch_code varchar)""")
        serials = []
        for i in range(40):  # SN00..SN39 in batch 001 or 002
            serials.append((f"SN{i:02d}", None, None, "mes/serials_20240101.csv", i + 2,
                            f"20240101-L01-00{1 + i % 2}"))
        serials += [("SN03", None, None, "mes/serials_20240102.csv", 2, "20240101-L01-003"),  # re-sent
                    ("SN05", None, None, "mes/serials_20240101.csv", 90, "20240101-L01-009"),  # later row
                    ("SN07", None, None, "mes/serials_20231231.csv", 2, "20240101-L01-004")]  # earlier file
        con.executemany("insert into staging.stg_mes__serials values (?, ?, ?, ?, ?, ?)", serials)
        con.execute("""create table intermediate.int_batches_enriched as select * from (values
            ('20240101-L01-001'), ('20240101-L01-002'), ('20240101-L01-003'), ('20240101-L01-007'))
            as t(batch_code)""")
        con.execute("""create table intermediate.int_complaints_distinct (complaint_id varchar,
            description varchar, serial_no varchar, batch_code_typed varchar, batch_code_flag varchar)""")
        rows = []
        for i in range(60):
            serial = None if i % 5 == 0 else f"SN{i % 45:02d}"  # SN40..SN44 unknown
            typed = [None, "20240101-L01-001", "20240101-L01-007", "20240101-L01-008", None][i % 5]
            flag = None if typed is None else "ok"
            rows.append((f"C{i:03d}", DESCRIPTIONS[i % len(DESCRIPTIONS)], serial, typed, flag))
        rows.append(("C900", "not a batch", None, None, "unmatched"))
        con.executemany("insert into intermediate.int_complaints_distinct values (?, ?, ?, ?, ?)", rows)
    finally:
        con.close()
    models = list(COMPLAINT_REFERENCE)
    plant.dbt("compile", warehouse=wh, select=[*models, "int_complaint_texts_classified"])
    compiled = {m: (plant.root / "ref_target" / "compiled" / "qualitrace" / "models"
                    / "intermediate" / f"{m}.sql").read_text(encoding="utf-8")
                for m in [*models, "int_complaint_texts_classified"]}
    reference = {m: plant.dbt("compile", "--inline", COMPLAINT_REFERENCE[m], warehouse=wh,
                              select=()).results[0].node.compiled_code for m in models}
    con = duckdb.connect(str(wh))
    try:
        # batch_resolved reads int_complaints_deduplicated: build it first (reference SQL)
        con.execute(f"create table intermediate.int_complaints_deduplicated as "
                    f"{reference['int_complaints_deduplicated']}")
        assert "_lv.serial_no in (select serial_no from" in compiled["int_complaints_batch_resolved"]
        # the texts, each classified once (a first build: no table yet, every text)
        assert "select distinct d.description" in compiled["int_complaint_texts_classified"]
        con.execute(f"create table intermediate.int_complaint_texts_classified as "
                    f"{compiled['int_complaint_texts_classified']}")
        assert con.execute("select count(*) from intermediate.int_complaint_texts_classified"
                           ).fetchone()[0] == len(DESCRIPTIONS) + 1  # and 'not a batch'
        for m in models:
            new = con.execute(compiled[m])
            cols = [d[0] for d in new.description]
            new_rows = sorted(new.fetchall(), key=repr)
            ref = con.execute(reference[m])
            assert cols == [d[0] for d in ref.description], m
            assert new_rows == sorted(ref.fetchall(), key=repr), m
            assert len(new_rows) == 61, m
        flags = dict(con.execute(f"select serial_flag, count(*) from ({compiled[models[0]]}) "
                                 "group by all").fetchall())
        assert flags.get("ok") and flags.get("unknown_serial"), flags
        codes = {r[0] for r in con.execute(f"select problem_type_code from ({compiled[models[1]]})").fetchall()}
        assert "UNCLASSIFIED" in codes and len(codes) > 2, codes
    finally:
        con.close()


# ------------------------------------- complaint texts: classified once, kept between runs
TEXT_MODELS = ("base_crm__complaints", "stg_crm__complaints", "int_complaints_distinct",
               "int_complaint_texts_classified", "int_complaints_deduplicated")
# customer wording as other plants' CRMs deliver it (no generator phrasing)
TEXTS = ["收到就是坏的，屏幕不亮", "充电时冒烟，有烧焦味", "the unit leaks water after a week",
         "Screen cracked on arrival, box was crushed", "用了三天就异响", "客服不回复", "",
         "no power at all, tried two outlets", "漏水 leaking under the base", "物流太慢了"]


def _worded_complaints(day: int, texts: list[str], first: int = 1) -> str:
    rows = [f"CW{day:02d}{first + i:04d},400热线,2024-03-{day:02d} 09:{i:02d}:00,王五,13800001{i:03d},"
            f"湖北,QE-20,,,\"{t}\",3,open,,\n" for i, t in enumerate(texts)]
    return COMPLAINTS_HEADER + "".join(rows)


@pytest.fixture
def text_plant(tmp_path) -> Plant:
    p = Plant(tmp_path, entities=(("crm", "complaints"),))
    p.write("complaints_20240304.csv", _worded_complaints(4, TEXTS[:6]), system="crm")
    p.write("complaints_20240311.csv", _worded_complaints(11, TEXTS[3:8] + ["电池鼓包了"]),
            system="crm")
    p.ingest()
    return p


def _build_and_compare_texts(plant: Plant) -> None:
    plant.dbt("run", select=TEXT_MODELS)
    ref = plant.full_refresh_copy(select=TEXT_MODELS)
    for model in ("int_complaint_texts_classified", "int_complaints_deduplicated"):
        assert plant.table(model, schema="intermediate") == \
            plant.table(model, ref, schema="intermediate"), model
    texts = plant.sql("select count(*), count(distinct description_key) "
                      "from intermediate.int_complaint_texts_classified")[0]
    used = plant.sql("select count(distinct coalesce(description, '\x00')) "
                     "from intermediate.int_complaints_distinct")[0][0]
    assert texts == (used, used)


def _classified_filter(plant: Plant) -> bool:
    sql = (plant.target / "compiled" / "qualitrace" / "models" / "intermediate"
           / "int_complaint_texts_classified.sql").read_text(encoding="utf-8")
    return "not in (" in sql


def test_complaint_texts_classified_once_equal_full_rebuild(text_plant):
    """int_complaint_texts_classified keeps each text's classification between runs and
    classifies only new texts; after a new file, a file re-delivered with other wording, a late
    file for an earlier week, a removed file and a taxonomy change, it and
    int_complaints_deduplicated equal a --full-refresh rebuild."""
    plant = text_plant
    _build_and_compare_texts(plant)
    codes = dict(plant.sql("select description, problem_type_code "
                           "from intermediate.int_complaint_texts_classified"))
    assert codes["充电时冒烟，有烧焦味"].startswith("SF")  # safety outranks everything
    assert codes["客服不回复"] == "UNCLASSIFIED"

    # a new week: new texts and repeated ones; only the table's missing texts are classified
    plant.write("complaints_20240318.csv", _worded_complaints(18, TEXTS[6:] + ["声音很大 很吵"]),
                system="crm")
    plant.ingest()
    _build_and_compare_texts(plant)
    assert _classified_filter(plant)

    # a text already classified is not classified again: a marker on its row survives a run
    where = "where description = '物流太慢了'"
    evidence = plant.sql(f"select problem_evidence from intermediate.int_complaint_texts_classified {where}")
    plant.sql(f"update intermediate.int_complaint_texts_classified set problem_evidence = 'kept' {where}")
    plant.write("complaints_20240325.csv", _worded_complaints(25, ["物流太慢了", "按键失灵"]),
                system="crm")
    plant.ingest()
    plant.dbt("run", select=TEXT_MODELS)
    assert plant.sql(f"select problem_evidence from intermediate.int_complaint_texts_classified "
                     f"{where}") == [("kept",)]
    plant.sql("update intermediate.int_complaint_texts_classified set problem_evidence = ? "
              f"{where}".replace("?", "null" if evidence[0][0] is None else f"'{evidence[0][0]}'"))
    _build_and_compare_texts(plant)

    # new complaints in words already classified (a repeated phrasing, a status re-export):
    # the model adds no row and leaves the classification SQL out of the query entirely
    plant.write("complaints_20240327.csv", _worded_complaints(27, ["物流太慢了", "按键失灵"]),
                system="crm")
    plant.ingest()
    plant.dbt("run", select=TEXT_MODELS)
    compiled = (plant.target / "compiled" / "qualitrace" / "models" / "intermediate"
                / "int_complaint_texts_classified.sql").read_text(encoding="utf-8")
    assert "where 1 = 0" in compiled and "matched as" not in compiled
    _build_and_compare_texts(plant)

    # a file re-delivered with other wording: its old texts leave when no complaint uses them
    plant.write("complaints_20240311.csv",
                _worded_complaints(11, ["the lid does not close", "无法开机"]), system="crm")
    plant.ingest()
    # ... and, in the same run, a late file for an earlier week
    plant.write("complaints_20240226.csv", _worded_complaints(26, ["门关不上", TEXTS[0]], first=500),
                system="crm")
    plant.ingest()
    _build_and_compare_texts(plant)
    assert plant.sql("select count(*) from intermediate.int_complaint_texts_classified "
                     "where description = '电池鼓包了'") == [(0,)]

    # a file removed from raw: texts only it used leave
    plant.sql("delete from raw.crm__complaints where _source_file = 'crm/complaints_20240318.csv'")
    _build_and_compare_texts(plant)
    assert plant.sql("select count(*) from intermediate.int_complaint_texts_classified "
                     "where description = '声音很大 很吵'") == [(0,)]

    # a taxonomy change (a new keyword): every text is classified again under the new hash
    before = plant.sql("select distinct _classify_hash from intermediate.int_complaint_texts_classified")
    plant.sql("insert into dictionary.problem_keywords values "
              "('FN03', '关不上', '关不上', '关不上', 'zh', 3)")
    _build_and_compare_texts(plant)
    after = plant.sql("select distinct _classify_hash from intermediate.int_complaint_texts_classified")
    assert len(after) == 1 and after != before
    assert plant.sql("select problem_type_code from intermediate.int_complaint_texts_classified "
                     "where description = '门关不上'") == [("FN03",)]
