"""Unit tests of the suspect ranking statistics (the dbt Python model's pure function)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import fisher_exact

from orchestration.lib.settings import DBT_PROJECT_DIR

_spec = importlib.util.spec_from_file_location(
    "suspect_ranking_model", DBT_PROJECT_DIR / "models" / "marts" / "quality" / "suspect_ranking.py")
ranking = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ranking)


def counts(rows):
    return pd.DataFrame(rows, columns=["problem_type_code", "suspect_kind", "suspect_id",
                                       "complaints_exposed", "units_exposed",
                                       "complaints_unexposed", "units_unexposed"])


def test_p_value_is_one_sided_fisher():
    df = ranking.rank_suspects(counts([("QD01", "line", "L01", 12, 1000, 8, 9000)]), 3)
    expected = fisher_exact([[12, 988], [8, 8992]], alternative="greater")[1]
    assert df.p_value[0] == pytest.approx(expected, rel=1e-9)
    assert df.lift[0] == pytest.approx((12 / 1000) / (8 / 9000))


def test_rank_by_p_then_lift_ties_share_and_support_gates():
    df = ranking.rank_suspects(counts([
        ("QD01", "supplier_lot", "LOT-A", 20, 1000, 10, 99000),   # strongest
        ("QD01", "supplier", "S1", 20, 1000, 10, 99000),          # same exposure: tie
        ("QD01", "line", "L02", 15, 20000, 15, 80000),            # weaker
        ("QD01", "operator", "OP9", 2, 10, 28, 99990),            # below minimum support
        ("QD02", "shift", "night", 5, 100, 0, 100),               # no unexposed complaint
    ]), min_support=3).set_index(["problem_type_code", "suspect_id"])
    assert df.loc[("QD01", "LOT-A"), "rank"] == 1 and df.loc[("QD01", "S1"), "rank"] == 1
    assert df.loc[("QD01", "L02"), "rank"] == 3
    assert pd.isna(df.loc[("QD01", "OP9"), "rank"])
    assert not df.loc[("QD01", "OP9"), "meets_min_support"]
    assert df.loc[("QD02", "night"), "rank"] == 1 and pd.isna(df.loc[("QD02", "night"), "lift"])


def test_tiny_p_values_still_order():
    df = ranking.rank_suspects(counts([
        ("QD04", "equipment", "E1", 900, 10000, 10, 990000),
        ("QD04", "line", "L01", 950, 200000, 100, 800000),
    ]), 3).set_index("suspect_id")
    assert df.loc["E1", "log10_p_value"] < df.loc["L01", "log10_p_value"] < -300
    assert df.loc["E1", "rank"] == 1


def test_empty_counts():
    assert ranking.rank_suspects(counts([]), 3).empty


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 5000),
                          st.integers(0, 50), st.integers(1, 5000)), min_size=1, max_size=12))
def test_properties(rows):
    df = ranking.rank_suspects(counts([
        ("QD01", "line", f"L{i:02d}", ce, ue, cu, uu) for i, (ce, ue, cu, uu) in enumerate(rows)
    ]), 3)
    assert df.p_value.between(0, 1).all()
    ranked = df[df["rank"].notna()].sort_values("rank")
    assert (ranked.complaints_exposed >= 3).all()
    if len(ranked):
        assert ranked["rank"].iloc[0] == 1
        assert np.all(np.diff(ranked.log10_p_value.to_numpy()) >= -1e-9)
    assert df.suspect_ranking_key.is_unique
    assert (df.q_value >= df.p_value - 1e-12).all() and (df.q_value <= 1).all()


def pair_rows(rows):
    return pd.DataFrame(rows, columns=[
        "problem_type_code", "kind_a", "id_a", "kind_b", "id_b", "complaints_both", "units_both",
        "complaints_a_only", "units_a_only", "complaints_b_only", "units_b_only",
        "complaints_total", "units_total"])


def test_a_pair_is_kept_only_when_it_explains_more_than_each_part():
    df = ranking.combined_suspects(pair_rows([
        # one line's night shift: 30 complaints on its 10k units, 3 on its other 20k units,
        # 4 on the other lines' 20k night units
        ("QD05", "line", "L03", "shift", "night", 30, 10000, 3, 20000, 4, 20000, 45, 90000),
        # the line alone is the cause: night adds nothing within the line
        ("QD04", "line", "L01", "shift", "night", 10, 10000, 20, 20000, 2, 20000, 35, 90000),
        # nested parts (B only where A): nothing to compare within B
        ("QD08", "line", "L01", "equipment", "E1", 12, 10000, 1, 20000, 0, 0, 15, 90000),
    ]), alpha=0.01)
    assert list(zip(df.suspect_kind, df.suspect_id)) == [("line+shift", "L03+night")]
    r = df.iloc[0]
    assert (r.complaints_exposed, r.units_exposed) == (30, 10000)
    assert (r.complaints_unexposed, r.units_unexposed) == (15, 80000)
    within_line = fisher_exact([[30, 10000 - 30], [3, 20000 - 3]], alternative="greater")[1]
    within_night = fisher_exact([[30, 10000 - 30], [4, 20000 - 4]], alternative="greater")[1]
    # one pair tested for QD05: no adjustment
    assert r.conditional_p_value == pytest.approx(max(within_line, within_night), rel=1e-6)


def test_pairs_tested_by_the_hundred_need_more_than_chance():
    """A pair that passes at p = 0.003 alone is chance among 200 pairs tested for its type."""
    chance = ("QD08", "operator", "OP1", "supplier", "S9", 7, 1100, 4, 4000, 20, 60000, 40,
              200000)
    rows = [chance] + [("QD08", "line", f"L{i}", "shift", "night", 3, 5000, 3, 5000, 3, 5000,
                        40, 200000) for i in range(199)]
    alone = ranking.combined_suspects(pair_rows([chance]), alpha=0.01)
    among = ranking.combined_suspects(pair_rows(rows), alpha=0.01)
    assert len(alone) == 1 and among.empty


def test_no_pairs_is_an_empty_frame_with_the_count_columns():
    df = ranking.combined_suspects(pair_rows([]), alpha=0.01)
    assert df.empty and "conditional_p_value" in df.columns and "suspect_kind" in df.columns


def _every_pair_tested(pairs: pd.DataFrame, alpha: float) -> dict:
    """The stratified tests summed exactly for every pair (the slow way): kept pair -> p."""
    from scipy.stats import hypergeom

    tested = pairs.groupby("problem_type_code")["problem_type_code"].transform("size")
    out = {}
    for i, r in pairs.iterrows():
        ub = max(r.units_both, r.complaints_both)
        ps = []
        for c, u in ((r.complaints_a_only, r.units_a_only), (r.complaints_b_only, r.units_b_only)):
            u = max(u, c)
            ps.append(1.0 if u == 0 else
                      float(hypergeom.sf(r.complaints_both - 1, ub + u, r.complaints_both + c, ub)))
        p = min(max(ps) * tested[i], 1.0)
        if p <= alpha:
            out[(r.problem_type_code, f"{r.kind_a}+{r.kind_b}", f"{r.id_a}+{r.id_b}")] = p
    return out


_pair = st.tuples(
    st.sampled_from(["QD01", "QD05"]), st.integers(0, 40), st.integers(1, 3000),
    st.integers(0, 40), st.integers(0, 20000), st.integers(0, 40), st.integers(0, 20000))


@settings(max_examples=40, deadline=None)
@given(st.lists(_pair, max_size=12), st.sampled_from([0.01, 0.05, 0.5, 1.0]))
def test_only_pairs_that_cannot_pass_are_skipped(rows, alpha):
    """The point-probability shortcut (`_may_pass`) leaves out only pairs whose exact tests
    fail: the kept pairs and their p-values equal testing every pair exactly."""
    frame = pair_rows([(code, "line", f"L{i}", "shift", "night", cb, ub, ca, ua, cbo, ubo,
                        cb + ca + cbo + 5, ub + ua + ubo + 1000)
                       for i, (code, cb, ub, ca, ua, cbo, ubo) in enumerate(rows)])
    got = ranking.combined_suspects(frame, alpha=alpha)
    expected = _every_pair_tested(frame, alpha)
    assert set(zip(got.problem_type_code, got.suspect_kind, got.suspect_id)) == set(expected)
    for r in got.itertuples():
        assert r.conditional_p_value == pytest.approx(
            expected[(r.problem_type_code, r.suspect_kind, r.suspect_id)], rel=1e-9)
