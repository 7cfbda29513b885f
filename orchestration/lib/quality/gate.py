"""The gate as one call per model (what each Dagster asset check runs) or for all models."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from pathlib import Path

from orchestration.lib.quality.alerts import raise_alerts
from orchestration.lib.quality.model import ERROR, CheckOutcome, ExpectationSpec
from orchestration.lib.quality.results import record_results
from orchestration.lib.quality.suites import build_suites
from orchestration.lib.quality.validate import validate_model
from orchestration.lib.settings import Settings

INJECT_ENV = "QUALITRACE_INJECT_FAILURE"
log = logging.getLogger(__name__)


class GateFailed(RuntimeError):
    """At least one ERROR check failed; the message names each one."""

    def __init__(self, failures: list[CheckOutcome]):
        self.failures = failures
        super().__init__("quality gate failed: " + "; ".join(
            f"{o.check_name} on {o.asset}: {o.message}" for o in failures))


@functools.lru_cache(maxsize=4)
def _suites_cached(expectations_dir: str | None) -> dict[str, list[ExpectationSpec]]:
    from orchestration.lib.dictionary.loader import current_dictionary

    # the dictionary the process has read already (the code location reads it once)
    return build_suites(current_dictionary(),
                        Path(expectations_dir) if expectations_dir else None)


def load_suites(expectations_dir: Path | None = None) -> dict[str, list[ExpectationSpec]]:
    """build_suites over the repo's dictionary (cached per process)."""
    return _suites_cached(str(expectations_dir) if expectations_dir else None)


def _inject(outcomes: list[CheckOutcome]) -> list[CheckOutcome]:
    """QUALITRACE_INJECT_FAILURE=<check>[@<asset>] forces that check to fail (tests, drills)."""
    target = os.environ.get(INJECT_ENV, "").strip()
    if not target:
        return outcomes
    name, _, asset = target.partition("@")
    for o in outcomes:
        if o.check_name == name and (not asset or o.asset == asset):
            o.passed, o.signature = False, "injected"
            o.message = f"failure injected by {INJECT_ENV}={target}"
    return outcomes


def _crashed(model: str, specs: list[ExpectationSpec], exc: BaseException) -> list[CheckOutcome]:
    """A model whose validation raised: each of its checks fails, naming the error, so the
    other models' results still stand and an ERROR check still blocks."""
    from orchestration.lib.quality.validate import _threshold, asset_path

    text = (str(exc).splitlines() or [type(exc).__name__])[0][:500]
    return [CheckOutcome(check_name=s.name, asset=asset_path(model), severity=s.severity,
                         passed=False, observed_value=None, threshold=_threshold(s),
                         message=f"{asset_path(model)}: check {s.name} could not run: "
                                 f"{type(exc).__name__}: {text}",
                         signature="error", kind=s.kind) for s in specs]


GATE_MEMORY_ENV = "QUALITRACE_GATE_MEMORY"
DEFAULT_GATE_MEMORY = "512MB"


def gate_memory() -> str:
    value = os.environ.get(GATE_MEMORY_ENV, "").strip() or DEFAULT_GATE_MEMORY
    if not value.replace(" ", "").replace(".", "").isalnum():
        raise ValueError(f"{GATE_MEMORY_ENV}={value!r}: expected a size such as 512MB")
    return value


def standing_outcomes(settings: Settings, suites: dict[str, list[ExpectationSpec]],
                      standing: dict[str, str]) -> dict[str, list[CheckOutcome]]:
    """The outcomes of the models a partial build left standing whose verdict depends on the
    model's own rows only (`OWN_ROWS_KINDS`: not null, in set, regex, between, uniqueness,
    missing rates, minimum rows, dictionary gaps, conformance, duplicate entries), as the run
    that built them recorded them: the rows, the specs and the dictionary are the same (any
    change to the last two makes the run a full build). A spec without a recorded outcome is
    not returned (it is validated)."""
    from orchestration.lib.quality.model import OWN_ROWS_KINDS
    from orchestration.lib.quality.validate import asset_path
    from orchestration.lib.warehouse import connect

    runs = sorted({run for m, run in standing.items() if m in suites})
    if not runs:
        return {}
    with connect(settings, read_only=True) as con:
        rows = con.execute(
            "SELECT run_id, asset, check_name, severity, passed, observed_value, threshold, "
            "kind, message, signature FROM governance.check_results WHERE kind IN "
            f"({', '.join('?' for _ in OWN_ROWS_KINDS)}) AND run_id IN "
            f"({', '.join('?' for _ in runs)})", [*OWN_ROWS_KINDS, *runs]).fetchall()
    recorded = {(r[0], r[1], r[2]): r for r in rows}
    out: dict[str, list[CheckOutcome]] = {}
    for model, run in standing.items():
        for spec in suites.get(model, []):
            r = recorded.get((run, asset_path(model), spec.name))
            if spec.kind in OWN_ROWS_KINDS and r is not None:
                out.setdefault(model, []).append(CheckOutcome(
                    check_name=r[2], asset=r[1], severity=r[3], passed=bool(r[4]),
                    observed_value=r[5], threshold=r[6] or "", kind=r[7] or "",
                    message=r[8] or "", signature=r[9] or "",
                    details={"unchanged_since_run": run}))
    return out


def run_checks(settings: Settings, suites: dict[str, list[ExpectationSpec]],
               run_id: str, standing: dict[str, str] | None = None
               ) -> dict[str, list[CheckOutcome]]:
    """Validate every model of `suites` with one GX context and one read-only warehouse
    connection, then append every outcome to governance.check_results and raise alerts,
    once. No exceptions for failed checks (the caller decides what blocks).

    `standing`: models a partial build did not rebuild (model -> the run that built them):
    the outcomes that depend on their own rows only are that run's (`standing_outcomes`);
    the checks that read other tables, the previous run or the previous delivery
    (references, row counts against the last run, shrunk deliveries) are evaluated as
    always."""
    from orchestration.lib.quality import gx_engine
    from orchestration.lib.quality.validate import (
        Catalog,
        collect_model,
        finish_models,
        save_missing_stores,
    )
    from orchestration.lib.warehouse import connect

    suites = {m: specs for m, specs in suites.items() if specs}
    out: dict[str, list[CheckOutcome]] = {}
    if not suites:
        return out
    carried = standing_outcomes(settings, suites, standing or {})
    carried_names = {m: {o.check_name for o in outcomes} for m, outcomes in carried.items()}
    validate = {m: [s for s in specs if s.name not in carried_names.get(m, set())]
                for m, specs in suites.items()}
    context = gx_engine.new_context()
    with contextlib.ExitStack() as stack:
        try:
            con = stack.enter_context(connect(settings, read_only=True))
        except FileNotFoundError as exc:  # no warehouse yet: every check fails, naming it
            return {m: _crashed(m, specs, exc) for m, specs in suites.items()}
        # the gate's own DuckDB budget (big aggregations spill to <warehouse>.tmp), so the
        # step stays well under 1 GB at 50M rows with pandas chunks beside it
        con.execute(f"SET memory_limit = '{gate_memory()}'")
        catalog = Catalog(con)
        pending = []
        for model, specs in validate.items():
            if not specs:
                continue
            try:
                pending.append(collect_model(settings, model, specs, run_id=run_id, con=con,
                                             context=context, catalog=catalog))
            except Exception as exc:  # noqa: BLE001 - one model's crash is its checks' failure
                out[model] = _crashed(model, specs, exc)
    try:  # every model's set-level facts in one GX validation
        out.update(finish_models(settings, context, pending))
    except Exception:  # noqa: BLE001 - find the model that cannot be judged
        for p in pending:
            try:
                out.update(finish_models(settings, context, [p]))
            except Exception as exc:  # noqa: BLE001
                out[p.model] = _crashed(p.model, p.specs, exc)
    try:  # missing counts and duplicate keys per file version, for the next run
        save_missing_stores()
    except OSError:
        log.warning("could not save the counts kept per file version", exc_info=True)
    for model, outcomes in carried.items():
        out[model] = outcomes + out.get(model, [])
    out = {m: out[m] for m in suites if m in out}
    for model in out:
        out[model] = _inject(out[model])
    every = [o for outcomes in out.values() for o in outcomes]
    record_results(settings, run_id, every)
    raise_alerts(settings, every, run_id=run_id)
    return out


def run_model_checks(settings: Settings, model: str, run_id: str,
                     specs: list[ExpectationSpec] | None = None) -> list[CheckOutcome]:
    """Validate one model, append to governance.check_results, raise alerts; no exceptions
    for failed checks (the caller decides what blocks)."""
    if specs is None:
        specs = load_suites().get(model, [])
    if not specs:
        return []
    outcomes = _inject(validate_model(settings, model, specs, run_id=run_id))
    record_results(settings, run_id, outcomes)
    raise_alerts(settings, outcomes, run_id=run_id)
    return outcomes


def run_gate(settings: Settings, run_id: str, models: list[str] | None = None,
             suites: dict[str, list[ExpectationSpec]] | None = None,
             raise_on_error: bool = True) -> list[CheckOutcome]:
    """Every guarded model's checks; raises GateFailed naming the failed ERROR checks."""
    suites = suites if suites is not None else load_suites()
    chosen = {m: suites.get(m, []) for m in (models or list(suites))}
    out = [o for outcomes in run_checks(settings, chosen, run_id).values() for o in outcomes]
    failures = [o for o in out if not o.passed and o.severity == ERROR]
    if failures and raise_on_error:
        raise GateFailed(failures)
    return out
