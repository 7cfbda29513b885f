"""Great Expectations (1.x API) as the engine behind the checks.

Row-level specs become GX column expectations validated on pandas frames, chunk by chunk
(`validate_row_chunks`); per-chunk counts are summed, so no table is ever loaded whole.
Set-level facts (compound-key duplicates, missing rates, row counts) are computed by DuckDB
aggregate queries and judged by GX in one validation for all models
(`validate_fact_table`: two column-pair expectations over a one-row-per-fact frame), then
split per model for Data Docs (`fact_docs_for`).
Each model's results are kept as JSON under `<home>/gx/results/` and `build_data_docs`
renders them all into GX Data Docs at `<home>/reports/validation/`.
GX is imported lazily (it takes seconds to import); `prewarm()` imports it in a background
thread while something else runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orchestration.lib.quality.model import ExpectationSpec

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
log = logging.getLogger("qualitrace.gx")

DATASOURCE = "qualitrace"
PARTIAL_LIMIT = 20


def _gx():
    import great_expectations as gx

    return gx


_prewarm: threading.Thread | None = None


def prewarm() -> threading.Thread | None:
    """Import Great Expectations in a background thread (3-6 s of CPU, most of the gate's
    fixed cost at small scale) while something else runs, e.g. at the start of a run while
    dbt builds: the gate step then finds it imported. Idempotent; never raises; loading the
    code location does not call it."""
    global _prewarm
    if _prewarm is not None or "great_expectations.expectations" in sys.modules:
        return _prewarm
    # Imported here, before the thread: GX imports SQLAlchemy's ORM, whose first module
    # registers an inspection hook for every object that SQLAlchemy Core (Dagster's event
    # log, in this thread) calls at once, before the rest of the ORM has loaded
    # ("partially initialized module 'sqlalchemy.orm.exc'": the dbt step failed in 5 of 9
    # one-file runs while it stored events as GX was being imported). 0.04 s.
    import sqlalchemy.orm  # noqa: F401

    def _run() -> None:
        try:
            _gx()
            import great_expectations.expectations  # noqa: F401
            from great_expectations.data_context.types.base import (  # noqa: F401
                DataContextConfig,
            )
        except Exception as exc:  # noqa: BLE001 - the gate imports it again, reports errors
            log.debug("GX prewarm failed: %s", exc)

    _prewarm = threading.Thread(target=_run, name="qualitrace-gx-prewarm", daemon=True)
    _prewarm.start()
    return _prewarm


def new_context(docs_dir: Path | None = None):
    """An ephemeral GX context, offline, no progress bars; Data Docs at `docs_dir` if given."""
    gx = _gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if docs_dir is not None:
        sites["qualitrace"] = {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    cfg = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites=sites,
    )
    return gx.get_context(project_config=cfg, mode="ephemeral")


def to_expectation(spec: ExpectationSpec):
    """The GX expectation for a row-level spec."""
    import great_expectations.expectations as gxe

    meta = {"check_name": spec.name, "severity": spec.severity, "source": spec.source}
    kw: dict[str, Any] = {"column": spec.column, "meta": meta}
    if "mostly" in spec.params:
        kw["mostly"] = float(spec.params["mostly"])
    if spec.kind == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(**kw)
    if spec.kind == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(value_set=list(spec.params["value_set"]), **kw)
    if spec.kind == "match_regex":
        return gxe.ExpectColumnValuesToMatchRegex(regex=spec.params["regex"], **kw)
    if spec.kind == "between":
        return gxe.ExpectColumnValuesToBeBetween(min_value=spec.params.get("min_value"),
                                                 max_value=spec.params.get("max_value"), **kw)
    raise ValueError(f"check {spec.name}: kind {spec.kind} is not a row-level expectation")


def _batch_definition(context, asset_name: str):
    try:
        ds = context.data_sources.get(DATASOURCE)
    except Exception:  # noqa: BLE001 - GX raises several types for "not found"
        ds = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = ds.get_asset(asset_name)
    except Exception:  # noqa: BLE001
        asset = ds.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition("whole")
    except Exception:  # noqa: BLE001
        return asset.add_batch_definition_whole_dataframe("whole")


def validate_row_chunks(context, suite_name: str, specs: list[ExpectationSpec],
                        frames: Iterable) -> tuple[dict[str, dict], dict | None, dict]:
    """Validate row-level specs over an iterable of pandas frames.

    Returns (stats per check name: element_count, missing_count, unexpected_count,
    partial_unexpected_list; the GX result JSON with counts summed over chunks; suite JSON).
    """
    gx = _gx()
    suite = gx.ExpectationSuite(name=suite_name)
    for spec in specs:
        suite.add_expectation(to_expectation(spec))
    bd = _batch_definition(context, suite_name)
    stats = {s.name: {"element_count": 0, "missing_count": 0, "unexpected_count": 0,
                      "partial_unexpected_list": []} for s in specs}
    merged: dict | None = None
    chunks = 0
    for df in frames:
        chunks += 1
        # BASIC has every count used here and the partial unexpected list; SUMMARY's extra
        # value counts cost ~40% more GX time per expectation.
        res = bd.get_batch(batch_parameters={"dataframe": df}).validate(
            suite, result_format="BASIC")
        doc = res.to_json_dict()
        for r in doc["results"]:
            name = (r["expectation_config"].get("meta") or {}).get("check_name")
            if name not in stats:
                continue
            if r.get("exception_info", {}).get("raised_exception"):
                msg = r["exception_info"].get("exception_message") or "GX raised an exception"
                raise RuntimeError(f"{suite_name}: check {name}: {msg}")
            st, res_ = stats[name], r.get("result") or {}
            st["element_count"] += int(res_.get("element_count") or 0)
            st["missing_count"] += int(res_.get("missing_count") or 0)
            st["unexpected_count"] += int(res_.get("unexpected_count") or 0)
            room = PARTIAL_LIMIT - len(st["partial_unexpected_list"])
            if room > 0:
                st["partial_unexpected_list"].extend(
                    _jsonable(v) for v in (res_.get("partial_unexpected_list") or [])[:room])
        merged = doc if merged is None else merged
    if merged is not None:
        _patch_counts(merged, stats, specs, chunks)
    return stats, merged, suite.to_json_dict()


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, bool)):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) else v
    return str(v)


def row_passed(spec: ExpectationSpec, st: dict) -> bool:
    """GX semantics over summed counts: not_null counts every row, the others non-null rows."""
    total = st["element_count"] if spec.kind == "not_null" else (
        st["element_count"] - st["missing_count"])
    if total <= 0:
        return True
    mostly = float(spec.params.get("mostly", 1.0))
    return (total - st["unexpected_count"]) / total >= mostly


def _patch_counts(doc: dict, stats: dict, specs: list[ExpectationSpec], chunks: int) -> None:
    by_name = {s.name: s for s in specs}
    ok_all = True
    for r in doc["results"]:
        name = (r["expectation_config"].get("meta") or {}).get("check_name")
        if name not in stats:
            continue
        st, res = stats[name], r.setdefault("result", {})
        res.update({k: st[k] for k in ("element_count", "missing_count", "unexpected_count",
                                       "partial_unexpected_list")})
        nonmissing = st["element_count"] - st["missing_count"]
        res["unexpected_percent"] = (100.0 * st["unexpected_count"] / nonmissing
                                     if nonmissing else 0.0)
        if st["element_count"]:
            res["missing_percent"] = 100.0 * st["missing_count"] / st["element_count"]
        r["success"] = row_passed(by_name[name], st)
        ok_all = ok_all and r["success"]
    doc["success"] = ok_all
    doc.setdefault("meta", {})["qualitrace_chunks"] = chunks
    stats_ = doc.setdefault("statistics", {})
    n_ok = sum(1 for r in doc["results"] if r.get("success"))
    stats_.update({"evaluated_expectations": len(doc["results"]),
                   "successful_expectations": n_ok,
                   "unsuccessful_expectations": len(doc["results"]) - n_ok,
                   "success_percent": 100.0 * n_ok / len(doc["results"]) if doc["results"]
                   else None})


FACT_COLUMNS = ("model", "check_name", "kind", "severity", "observed", "min", "max")
_PER_ROW_LISTS = ("unexpected_list", "unexpected_index_list", "partial_unexpected_list",
                  "partial_unexpected_index_list")


def fact_bounds(lo: float | None, hi: float | None) -> tuple[float | None, float | None]:
    """Nothing to compare with yet (first run): a fact must at least be >= 0."""
    return (0.0, hi) if lo is None and hi is None else (lo, hi)


def validate_fact_table(context, suite_name: str, rows: list[dict]
                        ) -> tuple[set[tuple[str, str]], dict, dict]:
    """Validate set-level facts of any number of models in one GX validation.

    `rows`: one dict per fact with FACT_COLUMNS (observed, min, max: float or None). GX checks
    two column-pair expectations over the one-row-per-fact frame, `observed >= min` and
    `max >= observed` (a missing bound or value is not compared: `between` semantics), and
    names the failing rows by (model, check_name). Two expectations instead of one per
    fact: GX costs ~10 ms per expectation whatever the frame size.
    Returns (failed (model, check_name) keys, result JSON, suite JSON).
    """
    import great_expectations.expectations as gxe
    import pandas as pd

    gx = _gx()
    suite = gx.ExpectationSuite(name=suite_name)
    pair = {"or_equal": True, "ignore_row_if": "either_value_is_missing"}
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="observed", column_B="min", meta={"check_name": "facts_at_least_min"},
        **pair))
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="max", column_B="observed", meta={"check_name": "facts_at_most_max"},
        **pair))
    frame = pd.DataFrame({c: [r.get(c) for r in rows] for c in FACT_COLUMNS})
    for c in ("observed", "min", "max"):
        frame[c] = pd.to_numeric(frame[c], errors="raise").astype("float64")
    for c in ("model", "check_name", "kind", "severity"):
        frame[c] = frame[c].astype(object)
    bd = _batch_definition(context, suite_name)
    res = bd.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format={"result_format": "COMPLETE",
                              "unexpected_index_column_names": ["model", "check_name"]})
    doc = res.to_json_dict()
    failed: set[tuple[str, str]] = set()
    for r in doc["results"]:
        if r.get("exception_info", {}).get("raised_exception"):
            raise RuntimeError(f"{suite_name}: {r['expectation_config'].get('meta')}: "
                               f"{r['exception_info'].get('exception_message')}")
        for idx in (r.get("result") or {}).get("unexpected_index_list") or []:
            failed.add((idx["model"], idx["check_name"]))
    return failed, doc, suite.to_json_dict()


def fact_docs_for(model: str, suite_name: str, rows: list[dict], doc: dict,
                  suite_doc: dict) -> tuple[dict, dict]:
    """One model's share of a validate_fact_table result, as its own (suite, result) pair
    for Data Docs: the unexpected rows of that model, counts over its facts."""
    import copy

    mine = [r for r in rows if r["model"] == model]
    suite_m = copy.deepcopy(suite_doc)
    suite_m["name"] = suite_name
    doc_m = copy.deepcopy(doc)
    doc_m["suite_name"] = suite_name
    ok_all = True
    for r, exp in zip(doc_m["results"], ("min", "max"), strict=True):
        res = r.setdefault("result", {})
        keep = [i for i, idx in enumerate(res.get("unexpected_index_list") or [])
                if idx.get("model") == model]
        for key in _PER_ROW_LISTS:
            if key in res:
                res[key] = [res[key][i] for i in keep if i < len(res[key])]
        res.pop("unexpected_index_query", None)
        res.pop("partial_unexpected_counts", None)
        missing = sum(1 for f in mine if f["observed"] is None or f[exp] is None)
        n, bad = len(mine), len(keep)
        compared = n - missing
        res.update({"element_count": n, "missing_count": missing, "unexpected_count": bad,
                    "missing_percent": 100.0 * missing / n if n else 0.0,
                    "unexpected_percent": 100.0 * bad / compared if compared else 0.0,
                    "unexpected_percent_total": 100.0 * bad / n if n else 0.0,
                    "unexpected_percent_nonmissing": 100.0 * bad / compared if compared
                    else 0.0})
        r["success"] = bad == 0
        ok_all = ok_all and r["success"]
    doc_m["success"] = ok_all
    n_ok = sum(1 for r in doc_m["results"] if r["success"])
    doc_m["statistics"] = {"evaluated_expectations": len(doc_m["results"]),
                           "successful_expectations": n_ok,
                           "unsuccessful_expectations": len(doc_m["results"]) - n_ok,
                           "success_percent": 100.0 * n_ok / len(doc_m["results"])}
    doc_m.setdefault("meta", {})["qualitrace_facts"] = [
        {k: f[k] for k in FACT_COLUMNS if k != "model"} for f in mine]
    return suite_m, doc_m


# ---------------------------------------------------------------- persistence + Data Docs

def results_dir(home: Path) -> Path:
    return home / "gx" / "results"


def save_results(home: Path, model: str, run_id: str,
                 pairs: list[tuple[dict, dict | None]]) -> Path:
    """Keep a model's latest (suite JSON, result JSON) pairs for Data Docs."""
    d = results_dir(home)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{model}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"model": model, "run_id": run_id,
                               "pairs": [{"suite": s, "result": r} for s, r in pairs]},
                              default=str, ensure_ascii=False))
    tmp.replace(path)
    return path


def build_data_docs(home: Path, docs_dir: Path) -> Path | None:
    """Render every model's latest GX results into Data Docs; returns the index path."""
    files = sorted(results_dir(home).glob("*.json"))
    if not files:
        return None
    gx = _gx()
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    for sub in ("validations", "expectations"):
        shutil.rmtree(docs_dir / sub, ignore_errors=True)
    context = new_context(docs_dir)
    schema = ExpectationSuiteValidationResultSchema()
    for f in files:
        data = json.loads(f.read_text())
        for pair in data["pairs"]:
            s = pair["suite"]
            suite = gx.ExpectationSuite(name=s["name"], expectations=s.get("expectations", []),
                                        meta=s.get("meta") or {})
            with contextlib.suppress(Exception):  # already added by an earlier pair
                context.suites.add(suite)
            if pair["result"] is None:
                continue
            res = schema.load(pair["result"])
            run_time = (res.meta.get("run_id") or {}).get("run_time") \
                if isinstance(res.meta.get("run_id"), dict) else None
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=s["name"]),
                run_id=RunIdentifier(run_name=str(data.get("run_id") or "run"),
                                     run_time=run_time),
                batch_identifier=f"{DATASOURCE}-{s['name']}",
            )
            context.validation_results_store.set(key, res)
    context.build_data_docs(site_names=["qualitrace"])
    return docs_dir / "index.html"
