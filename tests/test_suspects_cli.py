"""`qualitrace suspects`: the ranking with q-values, by default only the suspects that pass the
false discovery rate (issue 15, numbers that hold up)."""

from __future__ import annotations

import json

import pandas as pd

from orchestration.lib.settings import get_settings
from tests.support.runs import qualitrace

RANKING = pd.DataFrame([
    # problem, rank, kind, id, complaints, units, lift, p, q
    ("QD04", 1, "equipment", "E3", 12, 670, 92.0, 3e-17, 4e-15),
    ("QD04", 2, "line", "L02", 14, 9000, 3.1, 0.004, 0.03),
    ("QD04", 3, "shift", "night", 9, 12000, 1.4, 0.04, 0.2),     # ranked, fails the FDR
    ("QD04", None, "operator", "OP9", 2, 300, 2.0, 0.3, 0.6),     # below minimum support
    ("FN04", 1, "product_model", "M2", 16, 4500, 12.0, 1e-9, 2e-7),
], columns=["problem_type_code", "rank", "suspect_kind", "suspect_id", "complaints_exposed",
            "units_exposed", "lift", "p_value", "q_value"])


def home_with_ranking(tmp_path):
    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    RANKING.to_parquet(s.parquet_dir / "suspect_ranking.parquet", index=False)
    return s


def test_default_shows_only_suspects_passing_the_fdr(tmp_path):
    s = home_with_ranking(tmp_path)
    proc = qualitrace("suspects", "--home", str(s.home), "--json")
    assert proc.returncode == 0, proc.stderr
    got = {(r["problem_type_code"], r["suspect_id"]): r["q_value"] for r in json.loads(proc.stdout)}
    assert got == {("QD04", "E3"): 4e-15, ("QD04", "L02"): 0.03, ("FN04", "M2"): 2e-7}


def test_problem_fdr_and_all(tmp_path):
    s = home_with_ranking(tmp_path)
    strict = qualitrace("suspects", "--home", str(s.home), "--problem", "QD04", "--fdr", "0.01",
                        "--csv")
    assert [ln.split(",")[3] for ln in strict.stdout.strip().splitlines()[1:]] == ["E3"]
    every = qualitrace("suspects", "--home", str(s.home), "--all", "--csv")
    assert len(every.stdout.strip().splitlines()) == 1 + len(RANKING)
    text = qualitrace("suspects", "--home", str(s.home), "--problem", "SF01")
    assert "no suspect passes the false discovery rate 0.05" in text.stdout


def test_no_published_ranking_is_a_clear_exit(tmp_path):
    s = get_settings(tmp_path / "home", tmp_path / "exports").ensure()
    proc = qualitrace("suspects", "--home", str(s.home))
    assert proc.returncode == 2 and "run `qualitrace run` first" in proc.stderr
