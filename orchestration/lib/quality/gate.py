"""The gate as one call per model (what each Dagster asset check runs) or for all models."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from orchestration.lib.quality.alerts import raise_alerts
from orchestration.lib.quality.model import ERROR, CheckOutcome, ExpectationSpec
from orchestration.lib.quality.results import record_results
from orchestration.lib.quality.suites import build_suites
from orchestration.lib.quality.validate import validate_model
from orchestration.lib.settings import Settings

INJECT_ENV = "QUALITRACE_INJECT_FAILURE"


class GateFailed(RuntimeError):
    """At least one ERROR check failed; the message names each one."""

    def __init__(self, failures: list[CheckOutcome]):
        self.failures = failures
        super().__init__("quality gate failed: " + "; ".join(
            f"{o.check_name} on {o.asset}: {o.message}" for o in failures))


@functools.lru_cache(maxsize=4)
def _suites_cached(expectations_dir: str | None) -> dict[str, list[ExpectationSpec]]:
    from orchestration.lib.dictionary import load_dictionary

    return build_suites(load_dictionary(), Path(expectations_dir) if expectations_dir else None)


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
    out: list[CheckOutcome] = []
    for model in models or list(suites):
        out.extend(run_model_checks(settings, model, run_id, suites.get(model, [])))
    failures = [o for o in out if not o.passed and o.severity == ERROR]
    if failures and raise_on_error:
        raise GateFailed(failures)
    return out
