"""Compile the conformance macros once through real dbt, for tests and ad-hoc checks.

`conformance_sql(warehouse)` publishes nothing itself: the warehouse must already hold the
`dictionary.*` tables. It returns {query name: compiled SQL}, compiled by one
`dbt compile --inline` (the macros read the dictionary tables at compile time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestration.lib.settings import DBT_PROJECT_DIR

SPLIT = "-- @@qualitrace-split@@"

# column -> inline Jinja expression over input_values(id, v, u)
CONFORM_COLUMNS: dict[str, str] = {
    "text_code": "{{ conform_text_code('v') }}",
    "lookup_key": "{{ conform_lookup_key('v') }}",
    "batch_code": "{{ conform_batch_code('v') }}",
    "batch_flag": "{{ batch_code_flag('v') }}",
    "batch_system": "{{ batch_code_system('v') }}",
    "serial": "{{ conform_serial('v') }}",
    "ts_utc": "{{ conform_timestamp('v') }}",
    "ts_local": "{{ conform_local_timestamp('v') }}",
    "dt": "{{ conform_date('v') }}",
    "province": "{{ conform_province('v') }}",
    "region": "{{ province_region(conform_province('v')) }}",
    "shift": "{{ conform_shift('v') }}",
    "line": "{{ conform_line('v') }}",
    "severity": "{{ conform_severity('v') }}",
    "pass_fail": "{{ conform_pass_fail('v') }}",
    "bool_value": "{{ conform_boolean('v') }}",
    "status": "{{ conform_status('v') }}",
    "channel": "{{ conform_channel('v') }}",
    "number": "{{ conform_number('v') }}",
    "value_canonical": "{{ conform_unit_value('v', 'u', 'any') }}",
    "unit": "{{ conform_unit('u', 'any') }}",
    "canonical_unit": "{{ canonical_unit('u', 'any') }}",
    "unit_kind": "{{ unit_kind_of('u') }}",
    "unit_known": "{{ unit_is_known('u', 'any') }}",
    "qty_pcs": "{{ conform_unit_value('v', 'u', 'quantity', default_unit='pcs') }}",
    "pii_masked": "{{ mask_pii_text('v') }}",
    "file_order": "{{ file_order_key('v') }}",
    "ts_plausible": "{{ conform_plausible_time(conform_timestamp('v')) }}",
    "time_text": "{{ conform_time_text('v') }}",
}

# name -> inline Jinja SQL; input_values(id, v, u) holds the test inputs.
QUERIES: dict[str, str] = {
    "classify": """
with m as (select id, v, {{ problem_matches('v') }} as pm from input_values)
select id, v, {{ problem_primary('pm') }} as problem_type_code,
       {{ problem_secondary('pm') }} as secondary_problem_codes,
       {{ problem_category(problem_primary('pm')) }} as problem_category,
       {{ problem_evidence('v') }} as problem_evidence
from m
""",
}


def compile_inline(sql: str, warehouse: Path, target_dir: Path) -> str:
    """Run `dbt compile --inline` in a subprocess against `warehouse`; return the compiled SQL."""
    env = dict(os.environ, QUALITRACE_WAREHOUSE=str(warehouse), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    env.pop("QUALITRACE_DICTIONARY_TABLES", None)  # lookups read the warehouse's dictionary.*
    dbt = Path(sys.executable).with_name("dbt")
    cmd = [str(dbt), "compile", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
           str(DBT_PROJECT_DIR), "--target-path", str(target_dir / "target"), "--log-path",
           str(target_dir / "logs"), "--no-partial-parse", "--quiet", "--output", "json",
           "--inline", sql]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt compile failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    out = proc.stdout
    start = out.find('{')
    while start != -1:
        try:
            data, _ = json.JSONDecoder().raw_decode(out[start:])
            if isinstance(data, dict) and "compiled" in data:
                return data["compiled"]
        except json.JSONDecodeError:
            pass
        start = out.find('{', start + 1)
    raise RuntimeError(f"no compiled SQL in dbt output:\n{proc.stdout}")


def conformance_sql(warehouse: Path, target_dir: Path) -> dict[str, str]:
    """Compile every query of QUERIES and every CONFORM_COLUMNS expression (keys
    `column:<name>`) in one dbt invocation."""
    names = list(QUERIES) + [f"column:{c}" for c in CONFORM_COLUMNS]
    texts = list(QUERIES.values()) + list(CONFORM_COLUMNS.values())
    combined = f"\n{SPLIT}\n".join(texts)
    compiled = compile_inline(combined, warehouse, target_dir)
    parts = compiled.split(SPLIT)
    if len(parts) != len(names):
        raise RuntimeError("compiled SQL lost its split markers")
    return {n: p.strip() for n, p in zip(names, parts)}


_CACHE: dict[str, object] = {}


def compiled_warehouse() -> tuple[Path, dict[str, str]]:
    """Once per process: a temporary warehouse with the published dictionary, and the
    compiled conformance SQL (one dbt invocation shared by every test module)."""
    if "result" not in _CACHE:
        import tempfile

        import duckdb

        from orchestration.lib.dictionary import load_dictionary, publish

        root = Path(tempfile.mkdtemp(prefix="qualitrace-conform-"))
        warehouse = root / "warehouse.duckdb"
        con = duckdb.connect(str(warehouse))
        try:
            publish(load_dictionary(), con)
        finally:
            con.close()
        _CACHE["result"] = (warehouse, conformance_sql(warehouse, root))
    return _CACHE["result"]  # type: ignore[return-value]


class ConformRunner:
    """Runs the compiled conformance SQL in DuckDB over `input_values(id, v, u)`."""

    def __init__(self):
        import duckdb

        warehouse, self.sql = compiled_warehouse()
        self.con = duckdb.connect()
        self.con.execute(f"attach '{warehouse}' as qt_dict (read_only)")
        self.con.execute("create schema if not exists dictionary")
        self.con.execute("create temp table input_values(id integer, v varchar, u varchar)")
        # the compiled SQL names dictionary.* only at compile time; it reads input_values only

    def run(self, query: str, rows: list[tuple], columns: list[str] | None = None) -> list[dict]:
        """rows: (v,) or (v, u) tuples; returns one dict per row, in input order.
        query 'conform' selects `columns` (default: all of CONFORM_COLUMNS)."""
        self.con.execute("delete from input_values")
        data = [(i, r[0], r[1] if len(r) > 1 else None) for i, r in enumerate(rows)]
        if data:
            self.con.executemany("insert into input_values values (?, ?, ?)", data)
        if query == "conform":
            cols = columns or list(CONFORM_COLUMNS)
            select = ", ".join(f"{self.sql['column:' + c]} as {c}" for c in cols)
            sql = f"select id, v, u, {select} from input_values"
        else:
            sql = self.sql[query]
        cur = self.con.execute(f"select * from ({sql}) order by id")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    def one(self, query: str, column: str, v, u=None):
        return self.run(query, [(v, u)])[0][column]
