"""marts.suspect_ranking: which suspect best explains each problem type.

For every (problem type, suspect) in int_suspect_counts: lift = exposed complaint rate /
unexposed complaint rate (units = units shipped), and a one-sided Fisher exact p-value
(hypergeometric upper tail: are there more exposed complaints than chance allows?).
Rows with complaints_exposed >= var('suspect_min_support', 3) are ranked per problem type
by p-value ascending (computed in log space, so tiny p-values still order), then lift
descending; ties share a rank. Other rows keep rank NULL.

Combined suspects (int_suspect_pair_counts): a pair of batch-level suspects of different kinds
(`line+shift`, `L03+night`) joins the ranking when it explains clearly more than either part
alone, judged by two stratified one-sided Fisher tests: within the batches of part A, are
complaints more frequent where B is also present than where it is not; and the same within B.
The larger of the two p-values, Bonferroni-adjusted by the number of pairs tested for the
problem type (many pairs are tested: some would pass by chance alone), must be at most
`pair_alpha` (config, 0.01); `conditional_p_value` keeps it. A redundant pair (B adds nothing within A, or one part always implies the other)
fails one of the tests and is left out. A kept pair is then ranked with the single suspects on
the same exposed-vs-rest test.
"""

import numpy as np
import pandas as pd
from scipy.stats import hypergeom

KEY_SEP = "|"


def rank_suspects(counts: pd.DataFrame, min_support: int) -> pd.DataFrame:
    """Add lift, p_value, log10_p_value, meets_min_support and rank to the counts."""
    df = counts.copy()
    for col in ("complaints_exposed", "units_exposed", "complaints_unexposed", "units_unexposed"):
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype("int64").clip(lower=0)
    # A unit can carry at most one complaint: guard against units below complaints.
    ue = np.maximum(df["units_exposed"].to_numpy(), df["complaints_exposed"].to_numpy())
    uu = np.maximum(df["units_unexposed"].to_numpy(), df["complaints_unexposed"].to_numpy())
    ce = df["complaints_exposed"].to_numpy()
    cu = df["complaints_unexposed"].to_numpy()

    rate_e = np.divide(ce, ue, out=np.full(len(df), np.nan), where=ue > 0)
    rate_u = np.divide(cu, uu, out=np.full(len(df), np.nan), where=uu > 0)
    df["rate_exposed"] = rate_e
    df["rate_unexposed"] = rate_u
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where((rate_u > 0) & ~np.isnan(rate_e), rate_e / rate_u, np.nan)
    df["lift"] = lift

    # P(X >= ce) for X ~ Hypergeom(total units, total complaints, exposed units); sf is fast,
    # logsf (slow) only where sf underflows, so even tiny p-values keep their order
    total = ue + uu
    p = np.asarray(hypergeom.sf(ce - 1, total, ce + cu, ue), dtype="float64") if len(df) \
        else np.array([], dtype="float64")
    p = np.clip(np.nan_to_num(p, nan=1.0), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        logp = np.log(p)
    tiny = p < 1e-280
    if tiny.any():
        logp[tiny] = hypergeom.logsf(ce[tiny] - 1, total[tiny], (ce + cu)[tiny], ue[tiny])
    df["log10_p_value"] = np.minimum(logp, 0.0) / np.log(10)
    df["p_value"] = p

    df["meets_min_support"] = df["complaints_exposed"] >= min_support
    df["rank"] = pd.array([pd.NA] * len(df), dtype="Int64")
    ranked = df[df["meets_min_support"]].copy()
    if len(ranked):
        # order key: p ascending, then lift descending (NaN lift last)
        ranked["_lift_key"] = ranked["lift"].fillna(-1.0)
        ranked = ranked.sort_values(
            ["problem_type_code", "log10_p_value", "_lift_key"], ascending=[True, True, False]
        )
        ranked["_tuple"] = list(zip(ranked["log10_p_value"].round(9), ranked["_lift_key"].round(9)))
        ranks = []
        for _, grp in ranked.groupby("problem_type_code", sort=False):
            prev, current = None, 0
            for position, t in enumerate(grp["_tuple"], start=1):
                if t != prev:
                    current, prev = position, t
                ranks.append(current)
        ranked["rank"] = ranks
        df.loc[ranked.index, "rank"] = ranked["rank"].astype("Int64")
    df["q_value"] = benjamini_hochberg(df)
    df["suspect_ranking_key"] = (
        df["problem_type_code"].astype(str) + KEY_SEP + df["suspect_kind"].astype(str)
        + KEY_SEP + df["suspect_id"].astype(str)
    )
    return df.sort_values(["problem_type_code", "rank", "suspect_kind", "suspect_id"],
                          na_position="last").reset_index(drop=True)


def combined_suspects(pairs: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Pairs that explain more than either part alone, shaped like int_suspect_counts rows
    (plus conditional_p_value)."""
    cols = ["problem_type_code", "suspect_kind", "suspect_id", "complaints_exposed",
            "units_exposed", "complaints_unexposed", "units_unexposed", "conditional_p_value"]
    if pairs is None or pairs.empty:
        return pd.DataFrame(columns=cols)
    df = pairs.copy()
    num = ["complaints_both", "units_both", "complaints_a_only", "units_a_only",
           "complaints_b_only", "units_b_only", "complaints_total", "units_total"]
    for col in num:
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype("int64").clip(lower=0)
    # many pairs are tested per problem type: some pass at 1% by chance alone, so the larger
    # of the two p-values is Bonferroni-adjusted by the number of pairs tested for the type
    df["_tested"] = df.groupby("problem_type_code")["problem_type_code"].transform("size")
    df = df[_may_pass(df, alpha)].copy()
    cb = df["complaints_both"].to_numpy()
    ub = np.maximum(df["units_both"].to_numpy(), cb)

    def within(c_other, u_other):
        u_other = np.maximum(u_other, c_other)
        # P(X >= cb), X ~ Hypergeom(units in the stratum, complaints in it, units with both)
        p = hypergeom.sf(cb - 1, ub + u_other, cb + c_other, ub)
        p = np.where(u_other > 0, np.nan_to_num(p, nan=1.0), 1.0)
        return np.clip(p, 0.0, 1.0)

    p_a = within(df["complaints_a_only"].to_numpy(), df["units_a_only"].to_numpy())
    p_b = within(df["complaints_b_only"].to_numpy(), df["units_b_only"].to_numpy())
    df["conditional_p_value"] = np.minimum(np.maximum(p_a, p_b) * df["_tested"].to_numpy(), 1.0)
    kept = df[df["conditional_p_value"] <= alpha]
    return pd.DataFrame({
        "problem_type_code": kept["problem_type_code"],
        "suspect_kind": kept["kind_a"].astype(str) + "+" + kept["kind_b"].astype(str),
        "suspect_id": kept["id_a"].astype(str) + "+" + kept["id_b"].astype(str),
        "complaints_exposed": kept["complaints_both"],
        "units_exposed": kept["units_both"],
        "complaints_unexposed": kept["complaints_total"] - kept["complaints_both"],
        "units_unexposed": kept["units_total"] - kept["units_both"],
        "conditional_p_value": kept["conditional_p_value"],
    }, columns=cols).reset_index(drop=True)


def _may_pass(pairs: pd.DataFrame, alpha: float) -> np.ndarray:
    """False where a pair certainly fails its stratified tests, cheaply: a tail probability
    P(X >= k) is at least the point probability P(X = k), so a pair whose point probability
    in either stratum is already above the adjusted alpha cannot pass. The exact tails
    (hypergeometric sums, slow with a plant's unit counts: 2.7 s for 39k pairs at scale 1)
    are then summed only for the few pairs left (72 there); the kept pairs and their
    p-values are the same."""
    may = np.ones(len(pairs), dtype=bool)
    if alpha >= 1:  # the adjusted p-value is capped at 1: every pair passes
        return may
    cb = pairs["complaints_both"].to_numpy()
    ub = np.maximum(pairs["units_both"].to_numpy(), cb)
    limit = np.log(alpha / pairs["_tested"].to_numpy()) + 1e-9  # margin for rounding
    for side in ("a", "b"):
        c_other = pairs[f"complaints_{side}_only"].to_numpy()
        u_other = np.maximum(pairs[f"units_{side}_only"].to_numpy(), c_other)
        with np.errstate(divide="ignore", invalid="ignore"):
            point = hypergeom.logpmf(cb, ub + u_other, cb + c_other, ub)
        may &= ~((u_other > 0) & (np.nan_to_num(point, nan=-np.inf) > limit))
    return may


def benjamini_hochberg(df: pd.DataFrame) -> pd.Series:
    """False-discovery-rate adjusted p-values among the suspects of each problem type."""
    q = pd.Series(np.nan, index=df.index, dtype="float64")
    for _, grp in df.groupby("problem_type_code", sort=False):
        p = grp["p_value"].to_numpy(dtype="float64")
        order = np.argsort(p)
        m = len(p)
        adjusted = p[order] * m / np.arange(1, m + 1)
        adjusted = np.minimum.accumulate(adjusted[::-1])[::-1]
        out = np.empty(m)
        out[order] = np.minimum(adjusted, 1.0)
        q.loc[grp.index] = out
    return q


def as_pandas(relation) -> pd.DataFrame:
    """A ref as a pandas DataFrame: a DuckDB relation (.df()) or a Spark DataFrame (.toPandas())."""
    return relation.toPandas() if hasattr(relation, "toPandas") else relation.df()


def as_output(frame: pd.DataFrame, session):
    """The model's result for its engine: pandas for DuckDB, a Spark DataFrame for Spark."""
    if not hasattr(session, "createDataFrame"):
        return frame
    kinds = {"f": "double", "i": "bigint", "u": "bigint", "b": "boolean"}
    schema = ", ".join(f"`{c}` {kinds.get(frame[c].dtype.kind, 'string')}" for c in frame.columns)
    rows = [tuple(None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in r)
            for r in frame.itertuples(index=False, name=None)]
    return session.createDataFrame(rows, schema=schema)


def model(dbt, session):
    # file_format: Spark writes Parquet (dbt-spark's Python default is Delta); DuckDB ignores it
    dbt.config(materialized="table", file_format="parquet")
    min_support = int(dbt.config.get("min_support") or 3)
    alpha = float(dbt.config.get("pair_alpha") or 0.01)
    counts = as_pandas(dbt.ref("int_suspect_counts")).drop(columns=["suspect_counts_key"], errors="ignore")
    counts["conditional_p_value"] = np.nan
    pairs = combined_suspects(as_pandas(dbt.ref("int_suspect_pair_counts")), alpha)
    if len(pairs):
        counts = pd.concat([counts, pairs], ignore_index=True)
    counts["conditional_p_value"] = counts["conditional_p_value"].astype("float64")
    out = rank_suspects(counts, min_support)
    return as_output(out, session)
