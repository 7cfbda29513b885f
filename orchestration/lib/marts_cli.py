"""`qualitrace holds`, `qualitrace escalations [--all]` and `qualitrace suspects [--problem CODE]
[--fdr Q] [--all]`, each with [--json|--csv]: read the published Parquet copies (they answer
while a run is going)."""

from __future__ import annotations

import json
import sys

import pandas as pd

from orchestration.lib.settings import get_settings

HOLD_SHOW = ["suspect_kind", "suspect_id", "batch_code", "material_lot", "units_in_stock",
             "units_in_transit", "units_in_field", "field_by_province", "reason", "first_seen"]
SUSPECT_SHOW = ["problem_type_code", "rank", "suspect_kind", "suspect_id", "complaints_exposed",
                "units_exposed", "lift", "p_value", "q_value"]
# Suspects shown unless --all: those whose Benjamini-Hochberg q-value (false discovery rate
# among the suspects of their problem type) is at most this.
FDR = 0.05
ESC_SHOW = ["status", "severity", "rule", "escalation_key", "complaints", "window_start",
            "window_end", "first_seen", "last_seen", "recipients", "summary"]


def _read(settings, name: str) -> pd.DataFrame | None:
    path = settings.parquet_dir / f"{name}.parquet"
    if not path.is_file():
        print(f"qualitrace: {path} does not exist yet: run `qualitrace run` first",
              file=sys.stderr)
        return None
    return pd.read_parquet(path)


def _emit(df: pd.DataFrame, args, empty: str, out=sys.stdout) -> None:
    if getattr(args, "json", False):
        out.write(json.dumps(json.loads(df.to_json(orient="records", date_format="iso",
                                                   double_precision=15)),
                             ensure_ascii=False, indent=2) + "\n")
    elif getattr(args, "csv", False):
        df.to_csv(out, index=False)
    elif df.empty:
        out.write(empty + "\n")
    else:
        with pd.option_context("display.max_colwidth", 60, "display.width", 200):
            out.write(df.to_string(index=False) + "\n")


def significant(df: pd.DataFrame, fdr: float = FDR) -> pd.DataFrame:
    """Ranked suspects whose q-value passes the false-discovery-rate threshold."""
    keep = df["rank"].notna() & (df["q_value"] <= fdr)
    return df[keep].sort_values(["problem_type_code", "rank", "suspect_kind", "suspect_id"])


def main(args) -> int:
    settings = get_settings(getattr(args, "home", None), getattr(args, "exports", None))
    if args.command == "suspects":
        df = _read(settings, "suspect_ranking")
        if df is None:
            return 2
        if args.problem:
            df = df[df["problem_type_code"] == args.problem]
        fdr = FDR if args.fdr is None else args.fdr
        if not args.all:
            df = significant(df, fdr)
        if not (args.json or args.csv):
            df = df[[c for c in SUSPECT_SHOW if c in df]]
        _emit(df, args, f"no suspect passes the false discovery rate {fdr:g}"
                        + ("" if args.all else " (--all lists every one)"))
        return 0
    if args.command == "holds":
        df = _read(settings, "hold_list")
        if df is None:
            return 2
        if not (args.json or args.csv):
            df = df[[c for c in HOLD_SHOW if c in df]]
        _emit(df, args, "no holds: no open escalation or top-ranked suspect implicates a batch")
        return 0
    df = _read(settings, "escalations")
    if df is None:
        return 2
    if not getattr(args, "all", False):
        df = df[df["status"] == "open"]
    if not (args.json or args.csv):
        df = df[[c for c in ESC_SHOW if c in df]]
    _emit(df, args, "no open escalations")
    return 0
