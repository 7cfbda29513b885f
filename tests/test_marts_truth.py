"""Acceptance of the marts against the generator's truth.json (issue 5, items 3-4).

`check_against_truth(con, truth)` takes any connection whose `marts` schema holds the
published marts, so it runs on the session pipeline (seed 11) and on a second plant
(seed 23) that nothing is tuned to.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from tests.support.builds import dbt_run, land_plant
from tests.support.runs import generate_plant, qualitrace

MARTS = ("complaint_trace", "batch_quality", "forward_trace", "suspect_ranking",
         "problem_pareto", "complaint_trend", "spc_violations", "supplier_scorecard")

SECOND_SEED = 23


def _complaint_rows(con) -> dict[str, dict]:
    """Every complaint id (first and duplicate) -> its complaint_trace row."""
    cur = con.execute("select complaint_id, duplicate_ids, batch_code, trace_method "
                      "from marts.complaint_trace")
    out = {}
    for cid, dups, batch, method in cur.fetchall():
        row = {"complaint_id": cid, "batch_code": batch, "trace_method": method}
        out[cid] = row
        for d in (dups or "").split(","):
            if d:
                out[d] = row
    return out


def planted_cause_ranks(con, truth) -> dict[tuple, object]:
    """(problem type, kind, id) of every planted cause -> its rank (None when absent)."""
    ranks = {}
    for c in truth["planted_causes"]:
        r = con.execute(
            "select rank from marts.suspect_ranking where problem_type_code = ? and "
            "suspect_kind = ? and suspect_id = ?",
            [c["problem_type_code"], c["suspect_kind"], c["suspect_id"]]).fetchone()
        ranks[(c["problem_type_code"], c["suspect_kind"], c["suspect_id"])] = r[0] if r else None
    return ranks


def check_against_truth(con, truth) -> list[str]:
    """All acceptance failures (empty list = accepted)."""
    failures = []
    for key, rank in planted_cause_ranks(con, truth).items():
        if rank != 1:
            top = con.execute(
                "select suspect_kind, suspect_id, complaints_exposed, units_exposed, lift, p_value "
                "from marts.suspect_ranking where problem_type_code = ? order by rank nulls last "
                "limit 3", [key[0]]).fetchall()
            failures.append(f"planted cause {key} has rank {rank}; top of {key[0]}: {top}")

    rows = _complaint_rows(con)
    wrong, derivable, resolved = [], 0, 0
    for cid, t in truth["complaints"].items():
        if t.get("quarantined"):
            continue
        row = rows.get(cid)
        if row and row["batch_code"] and row["batch_code"] != t["true_batch_code"]:
            wrong.append((cid, row["batch_code"], t["true_batch_code"]))
        if t.get("batch_derivable"):
            derivable += 1
            resolved += bool(row and row["batch_code"] == t["true_batch_code"])
    if wrong:
        failures.append(f"{len(wrong)} complaints traced to a wrong batch, e.g. {wrong[:5]}")
    if derivable and resolved / derivable < 0.99:
        failures.append(f"only {resolved}/{derivable} derivable complaints resolved (< 99%)")

    n = con.execute("select count(*) from marts.complaint_trace").fetchone()[0]
    if n != truth["distinct_complaints"]:
        failures.append(f"complaint_trace has {n} rows, truth has "
                        f"{truth['distinct_complaints']} distinct complaints")

    planted = {b for e in truth["excursions"] for b in e["batch_codes"]}
    flagged = {r[0] for r in con.execute(
        "select batch_code from marts.batch_quality where excursion_count > 0").fetchall()}
    if planted - flagged:
        failures.append(f"batches run during a planted excursion but not flagged: "
                        f"{sorted(planted - flagged)[:10]}")
    if flagged - planted:
        failures.append(f"batches flagged with no planted excursion: {sorted(flagged - planted)[:10]}")
    return failures


def _open_marts(settings):
    return duckdb.connect(str(settings.warehouse), read_only=True)


@pytest.mark.integration
def test_marts_match_truth(pipeline_home, plant):
    con = _open_marts(pipeline_home)
    try:
        assert check_against_truth(con, plant.truth) == []
    finally:
        con.close()


@pytest.mark.integration
def test_cli_on_pipeline_marts(pipeline_home, plant):
    home = str(pipeline_home.home)
    con = _open_marts(pipeline_home)
    try:
        cid, batch = con.execute(
            "select complaint_id, batch_code from marts.complaint_trace where batch_code is not null "
            "order by complaint_id limit 1").fetchone()
        lot = con.execute("select suspect_id from marts.forward_trace where suspect_kind = "
                          "'supplier_lot' order by suspect_id limit 1").fetchone()[0]
    finally:
        con.close()
    started = time.monotonic()
    p = qualitrace("trace", cid, "--home", home, timeout=60)
    assert p.returncode == 0, p.stderr
    assert batch in p.stdout and "Material lots -> suppliers" in p.stdout
    p = qualitrace("where-used", "lot", lot, "--home", home, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "units at risk" in p.stdout
    assert time.monotonic() - started < 10  # two process starts, well under a second each
    p = qualitrace("trace", "NO-SUCH-COMPLAINT", "--home", home, timeout=60)
    assert p.returncode == 2 and "not in marts.complaint_trace" in p.stderr


def build_warehouse_with_marts(exports: Path, home: Path) -> Path:
    """Land a plant, `dbt run` every model the marts need (real dbt, real DuckDB), and copy
    marts_build to marts. Returns the warehouse."""
    settings = land_plant(exports, home)
    dbt_run(settings, "--select", "+path:models/marts")
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute("create schema if not exists marts")
        for m in MARTS:
            con.execute(f"create or replace table marts.{m} as select * from marts_build.{m}")
    finally:
        con.close()
    return settings.warehouse


@pytest.mark.integration
def test_second_seed_matches_truth(tmp_path):
    """The same acceptance on a plant the marts were never tuned to."""
    other = generate_plant(tmp_path / "exports", seed=SECOND_SEED)
    warehouse = build_warehouse_with_marts(other.exports, tmp_path / "home")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert check_against_truth(con, other.truth) == []
    finally:
        con.close()
