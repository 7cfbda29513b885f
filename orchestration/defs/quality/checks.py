"""The quality gate as Dagster asset checks (thin wrappers; the logic is in lib/quality).

Every guarded model (`staging/*`, `intermediate/*`, `governance/file_manifest`) has two
checks:
- `gx_blocking` (blocking=True, severity ERROR): any ERROR expectation failed, so the marts
  downstream are not built and the published ones stay;
- `gx_warnings` (severity WARN): WARN expectations; alerts are raised, the run goes on.
All of them are one subsettable multi-asset check, `gx_checks` (one Dagster step, one GX
context, one read-only warehouse connection); a run that selects some assets runs only
their checks. Every expectation's outcome is appended to `governance.check_results`.
"""


import warnings

import dagster as dg

from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.quality.gate import load_suites, run_checks
from orchestration.lib.quality.model import ERROR, CheckOutcome, ExpectationSpec
from orchestration.lib.quality.validate import model_schema

BLOCKING, WARNINGS = "gx_blocking", "gx_warnings"
STEP_NAME = "gx_checks"


def model_key(model: str) -> dg.AssetKey:
    schema, name = model_schema(model)
    return dg.AssetKey([schema, name])


def _known_keys() -> set[dg.AssetKey] | None:
    """Asset keys the dbt area defines (None if it cannot be loaded yet)."""
    try:
        from orchestration.defs.dbt.definitions import DBT_MODELS

        return set(DBT_MODELS.keys)
    except Exception as exc:  # noqa: BLE001 - dbt project not parsed yet
        warnings.warn(f"quality checks: dbt assets unavailable ({exc}); guarding every suite")
        return None


def _md_list(outcomes: list[CheckOutcome]) -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(
        f"- **{o.check_name}** ({o.severity}): {o.message}" for o in outcomes[:30]) or "none")


def _result(key: dg.AssetKey, name: str, severity: dg.AssetCheckSeverity,
            outcomes: list[CheckOutcome], failed: list[CheckOutcome]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=key, check_name=name, passed=not failed, severity=severity,
        description=("; ".join(f"{o.check_name}: {o.message}" for o in failed[:5])[:2000]
                     if failed else None),
        metadata={
            "expectations": len(outcomes),
            "failed": len(failed),
            "failed_checks": ", ".join(o.check_name for o in failed) or "none",
            "failures": _md_list(failed),
        })


def _check_specs(model: str, specs: list[ExpectationSpec]) -> list[dg.AssetCheckSpec]:
    key = model_key(model)
    names = ", ".join(s.name for s in specs)
    out = []
    if any(s.severity == ERROR for s in specs):
        out.append(dg.AssetCheckSpec(
            BLOCKING, asset=key, blocking=True,
            description=f"GX ERROR expectations (block publishing): {names}"))
    out.append(dg.AssetCheckSpec(WARNINGS, asset=key,
                                 description=f"GX WARN expectations: {names}"))
    return out


def _results(model: str, outcomes: list[CheckOutcome], has_error: bool,
             selected) -> list[dg.AssetCheckResult]:
    key = model_key(model)
    errors = [o for o in outcomes if not o.passed and o.severity == ERROR]
    warns = [o for o in outcomes if not o.passed and o.severity != ERROR]
    out = []
    if has_error and dg.AssetCheckKey(key, BLOCKING) in selected:
        out.append(_result(key, BLOCKING, dg.AssetCheckSeverity.ERROR,
                           [o for o in outcomes if o.severity == ERROR], errors))
    if dg.AssetCheckKey(key, WARNINGS) in selected:
        out.append(_result(key, WARNINGS, dg.AssetCheckSeverity.WARN, outcomes, warns))
    return out


def _standing_models(context: dg.AssetCheckExecutionContext, models) -> dict[str, str]:
    """Models of `models` this run's dbt step did not rebuild (lib/partial_build.py) ->
    the run that built them."""
    from orchestration.lib.partial_build import UNCHANGED_META

    keys = {model_key(m): m for m in models}
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    out = {}
    for record in records:
        mat = record.event_log_entry.asset_materialization
        if mat is not None and mat.asset_key in keys and UNCHANGED_META in mat.metadata:
            out[keys[mat.asset_key]] = str(mat.metadata[UNCHANGED_META].value)
    return out


def build_gate_check(suites: dict[str, list[ExpectationSpec]],
                     name: str = STEP_NAME) -> dg.AssetChecksDefinition:
    """One multi-asset check carrying `gx_blocking`/`gx_warnings` for every model of
    `suites`; it validates only the models whose checks the run selected."""
    suites = {m: specs for m, specs in suites.items() if specs}
    check_specs = [c for m, specs in suites.items() for c in _check_specs(m, specs)]

    @dg.multi_asset_check(specs=check_specs, name=name, can_subset=True, pool="warehouse",
                          description="Great Expectations suites of every guarded model "
                                      "(one step: one GX context, one warehouse connection).")
    def _gx_checks(context: dg.AssetCheckExecutionContext, qualitrace: QualitraceHome):
        selected = set(context.selected_asset_check_keys)
        chosen = {m: specs for m, specs in suites.items()
                  if {dg.AssetCheckKey(model_key(m), BLOCKING),
                      dg.AssetCheckKey(model_key(m), WARNINGS)} & selected}
        settings = qualitrace.settings()
        outcomes = run_checks(settings, chosen, context.run.run_id,
                              standing=_standing_models(context, chosen))
        for m, specs in chosen.items():
            yield from _results(m, outcomes.get(m, []),
                                any(s.severity == ERROR for s in specs), selected)

    return _gx_checks


def build_model_check(model: str, specs: list[ExpectationSpec]) -> dg.AssetChecksDefinition:
    """One model's checks as their own step (tests; the code location uses build_gate_check)."""
    key = model_key(model)
    return build_gate_check({model: specs}, name=f"gx_{key.path[0]}__{key.path[-1]}")


def build_checks() -> list[dg.AssetChecksDefinition]:
    suites = load_suites()
    known = _known_keys()
    guarded = {m: specs for m, specs in suites.items()
               if specs and (known is None or model_key(m) in known)}
    return [build_gate_check(guarded)] if guarded else []


CHECKS = build_checks()
