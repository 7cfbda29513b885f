"""Supersede in the dbt intermediate layer (EXPORTS.md: a later row with the same business key
supersedes an earlier one). A new day's files re-send existing `qms/inspections` and
`erp/shipments` rows with one value changed: the pipeline must stay green (no duplicate
inspection_id in int_marts_*), and shipped units must count each shipment line once, at its
latest version. Own small plant (scale 0.01): the shared `plant` must not get extra files.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest

from tests.support.runs import generate_plant, run_pipeline

pytestmark = pytest.mark.integration  # builds dbt over a plant

NEW_DAY = "20991231"  # sorts after every generated delivery


def _read(path: Path) -> tuple[list[list[str]], str]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    delim = "," if path.suffix == ".csv" else "\t"
    return list(csv.reader(io.StringIO(text), delimiter=delim)), delim


def _resend(src: Path, column: int, change) -> Path:
    """Copy `src` under a new dated name with `column` of the first record changed."""
    rows, delim = _read(src)
    rows[1][column] = change(rows[1][column])
    out = io.StringIO()
    csv.writer(out, delimiter=delim, lineterminator="\n").writerows(rows)
    entity = src.name.split("_2")[0]
    dest = src.with_name(f"{entity}_{NEW_DAY}{src.suffix}")
    dest.write_text(out.getvalue(), encoding="utf-8")
    return dest


def _first(exports: Path, pattern: str) -> Path:
    files = sorted(p for p in exports.glob(pattern) if p.suffix in (".csv", ".tsv", ".txt"))
    assert files, pattern
    return files[0]


@pytest.fixture(scope="module")
def superseded_run(tmp_path_factory):
    plant = generate_plant(tmp_path_factory.mktemp("sup_plant") / "exports", scale=0.01, seed=5)
    # inspections: defects_found is the 5th column; shipments: qty is the 8th
    _resend(_first(plant.exports, "qms/inspections_*"), 4, lambda v: str(int(v) + 1))
    _resend(_first(plant.exports, "erp/shipments_*"), 7, lambda v: str(int(float(v)) - 1))
    return run_pipeline(tmp_path_factory.mktemp("sup_home"), plant.exports, timeout=300)


def test_superseding_delivery_keeps_pipeline_green_and_counts_latest(superseded_run):
    run = superseded_run
    assert run.returncode == 0, run.output[-6000:]
    con = duckdb.connect(str(run.settings.warehouse), read_only=True)
    try:
        q = lambda sql: con.execute(sql).fetchall()
        loaded = q(f"select path from raw._file_manifest where path like '%{NEW_DAY}%' "
                   "and status = 'loaded' order by path")
        assert len(loaded) == 2, loaded  # new content, not a duplicate delivery
        # staging keeps every version (governance reconciles staged rows) ...
        (staged, keys), = q("select count(*), count(distinct (shipment_no, line_no)) "
                            "from staging.stg_erp__shipments")
        assert staged > keys
        # ... the marts count each shipment line once, at its latest version
        (expected,), = q("""
            select sum(qty) from (
                select arg_max(qty, _source_file) as qty, arg_max(batch_code, _source_file) as batch_code
                from staging.stg_erp__shipments group by shipment_no, line_no) as s
            where batch_code in (select batch_code from marts.batch_quality)""")
        (shipped,), = q("select sum(units_shipped) from marts.batch_quality")
        assert shipped == expected
        (latest_qty,), = q(f"select qty from staging.stg_erp__shipments "
                           f"where _source_file like '%{NEW_DAY}%' and _source_row = 2")
        # the re-sent line's batch shipment counts its new qty once, plus the shipment's other lines
        (units,), = q(f"""
            select bs.units from intermediate.int_marts_batch_shipments bs
            join staging.stg_erp__shipments n
              on n.batch_code = bs.batch_code and n.shipment_no = bs.shipment_no
            where n._source_file like '%{NEW_DAY}%' and n._source_row = 2""")
        (others,), = q(f"""
            select coalesce(sum(o.qty), 0) from staging.stg_erp__shipments o
            join staging.stg_erp__shipments n
              on n.batch_code = o.batch_code and n.shipment_no = o.shipment_no and n.line_no <> o.line_no
            where n._source_file like '%{NEW_DAY}%' and n._source_row = 2
              and o._source_file not like '%{NEW_DAY}%'""")
        assert units == latest_qty + others
        # the re-sent inspection is one row per inspection_id in the intermediate layer
        for model in ("int_marts_batch_inspections", "int_marts_lot_inspections"):
            (n, distinct), = q(f"select count(*), count(distinct inspection_id) from intermediate.{model}")
            assert n == distinct, model
    finally:
        con.close()


@pytest.fixture(scope="module")
def truncated_rerun(superseded_run):
    """The same home, run again after the biggest ERP/CRM file was re-exported truncated to one
    record under its own name (a new version of a known path replaces the old one's rows)."""
    exports = superseded_run.settings.exports
    files = [p for system in ("erp", "crm") for p in (exports / system).glob("*")
             if p.suffix in (".csv", ".tsv") and NEW_DAY not in p.name]
    sized = sorted(((len(_read(p)[0]) - 1, p) for p in files), key=lambda t: (-t[0], t[1].name))
    n, target = sized[0]
    assert n >= 40, sized[:3]
    rows, delim = _read(target)
    out = io.StringIO()
    csv.writer(out, delimiter=delim, lineterminator="\n").writerows(rows[:2])
    target.write_text(out.getvalue(), encoding="utf-8")
    rel = target.relative_to(exports).as_posix()
    return rel, n, run_pipeline(superseded_run.settings.home, exports, timeout=300)


def test_a_truncated_re_export_blocks_publishing_and_names_the_file(truncated_rerun):
    rel, n, run = truncated_rerun
    assert run.returncode == 1, run.output[-6000:]
    assert "delivery_shrank" in run.output and rel in run.output
    con = duckdb.connect(str(run.settings.warehouse), read_only=True)
    try:
        got = con.execute("select rows_landed, previous_rows_landed from governance.file_manifest "
                          "where path = ? and status = 'loaded'", [rel]).fetchall()
        assert got == [(1, n)], got
        (passed,), = con.execute(
            "select passed from governance.check_results where check_name = 'delivery_shrank' "
            "order by checked_at desc limit 1").fetchall()
        assert passed is False
    finally:
        con.close()
