"""marts_build.forward_trace is a view on DuckDB: int_forward_trace_single_suspects (rows that
read no complaint) UNION ALL int_forward_trace_pair_suspects (the combined suspects the ranking
names). Building it writes no row, so a new complaint or a new day never copies the million
single-suspect rows; whatever dbt commands ran, it must equal a `--full-refresh` build of a
copy of the same warehouse.

Real dbt over the hand-made plant of test_marts_fixture_plant (its upstream tables written
directly), no generator data.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.support.dbt_cli import run_dbt
from tests.test_marts_fixture_plant import plant_tables, write_upstream

pytestmark = pytest.mark.integration  # builds dbt over a plant

MARTS_AND_SUPPORT = ("path:models/staging/dictionary", "path:models/intermediate/marts_support",
                     "path:models/marts")
SINGLES = "int_forward_trace_single_suspects"
PAIRS = "int_forward_trace_pair_suspects"
MARKER = "marker: not rebuilt"


def dbt(warehouse: Path, work: Path, *args: str) -> str:
    proc = run_dbt(warehouse, work, *args)
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
        """forward_trace equals a --full-refresh build of the marts over the same tables. The
        refresh runs on the warehouse's own path (dbt keys its partial parse to that path: a
        copy elsewhere would parse the project in full every time), then the warehouse as it
        was is put back."""
        self.copies += 1
        kept = self.work / f"before_full_refresh_{self.copies}.duckdb"
        built = self.forward_trace()
        shutil.copyfile(self.path, kept)
        try:
            dbt(self.path, self.work, "run", "--full-refresh", "--select", *MARTS_AND_SUPPORT)
            refreshed = self.forward_trace()
        finally:
            os.replace(kept, self.path)
        assert built == refreshed
        assert self.forward_trace() == built  # the incremental state is back for what follows

    def mark_a_single_row(self) -> None:
        """A carrier only a rebuild of the single-suspect table would overwrite."""
        self.sql(f"update intermediate.{SINGLES} set carrier = ? where forward_trace_key = "
                 f"(select min(forward_trace_key) from intermediate.{SINGLES})", [MARKER])

    def marked(self) -> int:
        return self.sql("select count(*) from marts_build.forward_trace where carrier = ?",
                        [MARKER])[0][0]

    def unmark(self) -> None:
        self.build(SINGLES, "--full-refresh")


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


def test_forward_trace_is_both_tables_unioned_whatever_was_rebuilt(tmp_path):
    wh = Warehouse(tmp_path)
    tables = plant_tables()
    con = duckdb.connect(str(wh.path))
    write_upstream(con, tables)
    con.close()
    wh.build(*MARTS_AND_SUPPORT)
    assert wh.sql("select count(*) from duckdb_views() where schema_name = 'marts_build' "
                  "and view_name = 'forward_trace'") == [(1,)]
    kinds = dict(wh.sql("select suspect_kind like '%+%', count(*) from marts_build.forward_trace "
                        "group by 1"))
    assert kinds[False] == wh.sql(f"select count(*) from intermediate.{SINGLES}")[0][0] > 0
    assert kinds[True] == wh.sql(f"select count(*) from intermediate.{PAIRS}")[0][0] > 0
    wh.equals_full_refresh()

    # new complaints: the models they reach are rebuilt, the single-suspect table is not (as a
    # partial build leaves it); forward_trace shows its rows (the marker) and the new pairs
    con = duckdb.connect(str(wh.path))
    con.register("c", _more_complaints(tables))
    con.execute("create or replace table intermediate.int_complaints_batch_resolved as "
                "select * from c")
    con.close()
    wh.sql(f"insert into intermediate.{PAIRS} (forward_trace_key, suspect_kind, suspect_id, "
           "batch_code) values ('line+shift|L09+night|B|', 'line+shift', 'L09+night', 'B')")
    assert wh.sql("select count(*) from marts_build.forward_trace "
                  "where suspect_id = 'L09+night'") == [(1,)]
    wh.mark_a_single_row()
    wh.build(*MARTS_AND_SUPPORT, exclude=(SINGLES,))
    assert wh.marked() == 1
    assert wh.sql("select count(*) from marts_build.forward_trace "
                  "where suspect_id = 'L09+night'") == [(0,)]  # no longer ranked: gone
    wh.unmark()
    assert wh.marked() == 0
    wh.equals_full_refresh()

    # a shipment withdrawn: the models reading shipments are rebuilt, forward_trace is not,
    # and it already holds the new rows
    wh.sql("delete from staging.stg_erp__shipments where shipment_no = "
           "(select min(shipment_no) from staging.stg_erp__shipments)")
    wh.build("int_marts_batch_shipments", SINGLES, PAIRS)
    wh.equals_full_refresh()


def test_single_suspect_rows_are_derived_again_only_for_batches_whose_inputs_changed(tmp_path):
    """int_forward_trace_single_suspects kept between builds, per batch (`_inputs_hash`):
    after a new day's batch, a re-delivered shipment, a late genealogy row for an old batch, a
    withdrawn batch and a new machine on a line, it equals a --full-refresh build, and the
    rows of batches whose inputs did not change are not derived again."""
    wh = Warehouse(tmp_path)
    con = duckdb.connect(str(wh.path))
    write_upstream(con, plant_tables())
    con.close()
    wh.build(*MARTS_AND_SUPPORT)
    derive = MARTS_AND_SUPPORT  # all that reads the changed tables, as a run rebuilds it
    wh.sql("create table main.carriers (forward_trace_key varchar, carrier varchar)")
    batches = [r[0] for r in wh.sql("select batch_code from intermediate.int_batches_enriched "
                                     "order by batch_code")]
    old, untouched = batches[0], batches[-1]

    def mark(batch: str) -> None:
        """A carrier only deriving the batch again would overwrite (its own is kept)."""
        wh.sql(f"insert into main.carriers select forward_trace_key, carrier from "
               f"intermediate.{SINGLES} where batch_code = ?", [batch])
        wh.sql(f"update intermediate.{SINGLES} set carrier = ? where batch_code = ?",
               [MARKER, batch])

    def unmark() -> None:
        wh.sql(f"update intermediate.{SINGLES} as f set carrier = c.carrier from main.carriers "
               "as c where c.forward_trace_key = f.forward_trace_key and f.carrier = ?", [MARKER])
        wh.sql("delete from main.carriers")

    def marked(batch: str) -> bool:
        return wh.sql(f"select count(*) from intermediate.{SINGLES} where batch_code = ? "
                      "and carrier = ?", [batch, MARKER])[0][0] > 0

    # a new day: a new batch with its genealogy and a shipment
    wh.sql("insert into intermediate.int_batches_enriched select * replace "
           "('20240401-L01-001' as batch_code) from intermediate.int_batches_enriched "
           "where batch_code = ?", [old])
    wh.sql("insert into intermediate.int_batch_genealogy select * replace "
           "('20240401-L01-001' as batch_code) from intermediate.int_batch_genealogy "
           "where batch_code = ?", [old])
    wh.sql("insert into staging.stg_erp__shipments select * replace "
           "('20240401-L01-001' as batch_code, 'SH-NEW-1' as shipment_no) "
           "from staging.stg_erp__shipments where batch_code = ? limit 1", [old])
    mark(untouched)
    wh.build(*derive)
    assert wh.sql(f"select count(*) from intermediate.{SINGLES} "
                  "where batch_code = '20240401-L01-001'")[0][0] > 0
    assert marked(untouched)  # not derived again
    unmark()
    wh.equals_full_refresh()

    # a re-delivered shipment changes its units; a late genealogy row for an old batch
    shipped = wh.sql("select batch_code, shipment_no from staging.stg_erp__shipments "
                     "where batch_code <> ? order by shipment_no limit 1", [untouched])[0]
    wh.sql("update staging.stg_erp__shipments set qty = qty + 7 where shipment_no = ?",
           [shipped[1]])
    wh.sql("insert into intermediate.int_batch_genealogy select * replace "
           "('ML-LATE-1' as material_lot) from intermediate.int_batch_genealogy "
           "where batch_code = ? limit 1", [old])
    mark(untouched)
    mark(shipped[0])
    wh.build(*derive)
    assert marked(untouched) and not marked(shipped[0])
    unmark()
    assert wh.sql(f"select count(*) from intermediate.{SINGLES} where suspect_id = 'ML-LATE-1'"
                  ) == [(wh.sql("select count(*) from intermediate.int_marts_batch_shipments "
                                "where batch_code = ?", [old])[0][0] or 1,)]
    wh.equals_full_refresh()

    # a batch withdrawn, and a new machine on a line: its line's batches are derived again
    wh.sql("delete from intermediate.int_batches_enriched where batch_code = ?", [batches[1]])
    line = wh.sql("select line from intermediate.int_batches_enriched where batch_code = ?",
                  [untouched])[0][0]
    wh.sql("insert into staging.stg_mes__equipment select * replace ('NEW-MACHINE' as "
           "equipment_id) from staging.stg_mes__equipment where line = ? limit 1", [line])
    mark(untouched)
    wh.build(*derive)
    assert not marked(untouched)
    unmark()
    assert wh.sql(f"select count(*) from intermediate.{SINGLES} where batch_code = ?",
                  [batches[1]]) == [(0,)]
    wh.equals_full_refresh()

    # a fingerprint that no longer matches (another code version wrote the rows): derived again
    mark(untouched)
    wh.sql(f"update intermediate.{SINGLES} set _inputs_hash = 'older code'")
    wh.build(SINGLES)
    assert not marked(untouched)
    unmark()
    wh.equals_full_refresh()

    # a table written before fingerprints existed (no _inputs_hash): every batch derived again
    mark(untouched)
    wh.sql(f"alter table intermediate.{SINGLES} drop column _inputs_hash")
    wh.build(SINGLES)
    assert not marked(untouched)
    assert wh.sql(f"select count(*) from intermediate.{SINGLES} where _inputs_hash is null"
                  ) == [(0,)]
    unmark()
    wh.equals_full_refresh()
