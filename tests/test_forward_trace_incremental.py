"""marts_build.forward_trace kept between runs (macros/marts/forward_trace.sql).

Its single-suspect rows (int_forward_trace_single_suspects) read no complaint: a build after new
complaints replaces only the combined-suspect rows, and the single rows are copied again only
when int_forward_trace_single_suspects was rebuilt since the last copy, whatever dbt commands
ran in between, or forward_trace's code changed. After every step the table must equal a
`--full-refresh` build of a copy of the same warehouse.

Real dbt over the hand-made plant of test_marts_fixture_plant (its upstream tables written
directly), no generator data.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.lib.settings import DBT_PROJECT_DIR
from tests.test_marts_fixture_plant import plant_tables, write_upstream

pytestmark = pytest.mark.integration  # builds dbt over a plant

MARTS_AND_SUPPORT = ("path:models/staging/dictionary", "path:models/intermediate/marts_support",
                     "path:models/marts")
SINGLES = "int_forward_trace_single_suspects"
STATE = "intermediate.forward_trace__state"
MARKER = "marker: not copied again"


def dbt(warehouse: Path, work: Path, *args: str) -> str:
    env = {**os.environ, "QUALITRACE_WAREHOUSE": str(warehouse),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(work / "target"),
         "--log-path", str(work / "logs"), "--no-use-colors"],
        env=env, capture_output=True, text=True, cwd=DBT_PROJECT_DIR, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc.stdout


class Warehouse:
    def __init__(self, work: Path):
        self.work = work
        self.path = work / "warehouse.duckdb"
        self.copies = 0

    def sql(self, query: str, params=None) -> list[tuple]:
        con = duckdb.connect(str(self.path))
        try:
            return con.execute(query, params or []).fetchall()
        finally:
            con.close()

    def build(self, *select: str, exclude: tuple[str, ...] = ()) -> str:
        return dbt(self.path, self.work, "build", "--select", *select,
                   *(["--exclude", *exclude] if exclude else []))

    def forward_trace(self, path: Path | None = None) -> tuple[list, list]:
        con = duckdb.connect(str(path or self.path), read_only=True)
        try:
            cols = con.execute("select column_name, data_type from duckdb_columns() where "
                               "schema_name = 'marts_build' and table_name = 'forward_trace' "
                               "order by column_index").fetchall()
            rows = con.execute("select * from marts_build.forward_trace").fetchall()
            return cols, sorted(rows, key=repr)
        finally:
            con.close()

    def equals_full_refresh(self) -> None:
        """forward_trace equals a --full-refresh build of the marts in a copy."""
        self.copies += 1
        work = self.work / f"full_refresh_{self.copies}"
        work.mkdir()
        shutil.copyfile(self.path, work / "warehouse.duckdb")
        dbt(work / "warehouse.duckdb", work, "run", "--full-refresh", "--select",
            *MARTS_AND_SUPPORT)
        assert self.forward_trace() == self.forward_trace(work / "warehouse.duckdb")

    def mark_a_single_row(self) -> None:
        self.sql("update marts_build.forward_trace set carrier = ? where forward_trace_key = "
                 "(select min(forward_trace_key) from marts_build.forward_trace "
                 " where suspect_kind = 'batch')", [MARKER])

    def marked(self) -> int:
        return self.sql("select count(*) from marts_build.forward_trace where carrier = ?",
                        [MARKER])[0][0]

    def unmark(self) -> None:
        self.sql("update marts_build.forward_trace as f set carrier = s.carrier "
                 f"from intermediate.{SINGLES} as s "
                 "where f.forward_trace_key = s.forward_trace_key and f.carrier = ?", [MARKER])


def _more_complaints(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Six more QD04 complaints on the night shift of line L02: the combined suspects move."""
    complaints = tables["int_complaints_batch_resolved"]
    batches = tables["int_batches_enriched"]
    night = batches[(batches.line == "L02") & (batches["shift"] == "night")].batch_code.tolist()
    template = complaints.iloc[0].to_dict()
    extra = [{**template, "complaint_id": f"CX{i:04d}", "batch_code": b, "batch_code_typed": b,
              "problem_type_code": "QD04", "problem_category": "QD", "customer_key": f"x{i}",
              "received_at": dt.datetime(2024, 3, 30, 9, i)}
             for i, b in enumerate(night[:6])]
    return pd.concat([complaints, pd.DataFrame(extra)], ignore_index=True)


def test_forward_trace_copies_single_rows_only_after_they_change(tmp_path):
    wh = Warehouse(tmp_path)
    tables = plant_tables()
    con = duckdb.connect(str(wh.path))
    write_upstream(con, tables)
    con.close()
    wh.build(*MARTS_AND_SUPPORT)
    built = dict(wh.sql(f"select kind, build_id from {STATE}"))
    assert built["built"] == built["copied"]
    wh.equals_full_refresh()

    # new complaints: the models they reach are rebuilt, int_forward_trace_single_suspects is
    # not (as a partial build leaves it); forward_trace keeps its single rows (the marker
    # survives), and a combined-suspect row no longer ranked is gone
    con = duckdb.connect(str(wh.path))
    con.register("c", _more_complaints(tables))
    con.execute("create or replace table intermediate.int_complaints_batch_resolved as "
                "select * from c")
    con.close()
    wh.sql("insert into marts_build.forward_trace (forward_trace_key, suspect_kind, suspect_id, "
           "batch_code) values ('line+shift|L09+night|B|', 'line+shift', 'L09+night', 'B')")
    wh.mark_a_single_row()
    wh.build(*MARTS_AND_SUPPORT, exclude=(SINGLES,))
    assert wh.marked() == 1
    assert wh.sql("select count(*) from marts_build.forward_trace "
                  "where suspect_id = 'L09+night'") == [(0,)]
    wh.unmark()
    wh.equals_full_refresh()

    # a shipment withdrawn: int_forward_trace_single_suspects rebuilt in one dbt command,
    # forward_trace in the next: the single rows are copied again
    wh.sql("delete from staging.stg_erp__shipments where shipment_no = "
           "(select min(shipment_no) from staging.stg_erp__shipments)")
    wh.build("int_marts_batch_shipments", SINGLES)
    wh.mark_a_single_row()
    wh.build("forward_trace")
    assert wh.marked() == 0
    wh.equals_full_refresh()

    # forward_trace's code changed since the copy (its hash in the state differs): copied again
    wh.mark_a_single_row()
    wh.sql(f"update {STATE} set code_hash = 'older code' where kind = 'copied'")
    wh.build("forward_trace")
    assert wh.marked() == 0
    wh.equals_full_refresh()

    # nothing changed: a rebuild copies nothing
    wh.mark_a_single_row()
    wh.build("forward_trace")
    assert wh.marked() == 1
