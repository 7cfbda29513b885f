"""The quality gate as Dagster asset checks (thin wrappers; the logic is in lib/quality).

One multi-asset check per guarded model (`staging/*`, `intermediate/*`,
`governance/file_manifest`), with two results:
- `gx_blocking` (blocking=True, severity ERROR): any ERROR expectation failed, so the marts
  downstream are not built and the published ones stay;
- `gx_warnings` (severity WARN): WARN expectations; alerts are raised, the run goes on.
Every expectation's outcome is appended to `governance.check_results`.
"""


import warnings

import dagster as dg

from orchestration.lib.quality.gate import load_suites, run_model_checks
from orchestration.lib.quality.model import ERROR, CheckOutcome, ExpectationSpec
from orchestration.lib.quality.validate import model_schema
from orchestration.lib.settings import get_settings

BLOCKING, WARNINGS = "gx_blocking", "gx_warnings"


def model_key(model: str) -> dg.AssetKey:
    schema, name = model_schema(model)
    return dg.AssetKey([schema, name])


def _known_keys() -> set[dg.AssetKey] | None:
    """Asset keys the dbt area defines (None if it cannot be loaded yet)."""
    try:
        from orchestration.defs.dbt import DBT_MODELS

        return set(DBT_MODELS.keys)
    except ImportError:
        pass
    try:
        from orchestration.defs.dbt.assets import DBT_ASSETS

        return {k for a in DBT_ASSETS for k in a.keys}
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


def build_model_check(model: str, specs: list[ExpectationSpec]) -> dg.AssetChecksDefinition:
    key = model_key(model)
    has_error = any(s.severity == ERROR for s in specs)
    names = ", ".join(s.name for s in specs)
    check_specs = [dg.AssetCheckSpec(WARNINGS, asset=key,
                                     description=f"GX WARN expectations: {names}")]
    if has_error:
        check_specs.insert(0, dg.AssetCheckSpec(
            BLOCKING, asset=key, blocking=True,
            description=f"GX ERROR expectations (block the marts): {names}"))

    @dg.multi_asset_check(specs=check_specs, name=f"gx_{key.path[0]}__{key.path[-1]}",
                          pool="warehouse")
    def _gx_check(context: dg.AssetCheckExecutionContext):
        settings = get_settings().ensure()
        outcomes = run_model_checks(settings, model, context.run.run_id, specs)
        errors = [o for o in outcomes if not o.passed and o.severity == ERROR]
        warns = [o for o in outcomes if not o.passed and o.severity != ERROR]
        if has_error:
            yield _result(key, BLOCKING, dg.AssetCheckSeverity.ERROR,
                          [o for o in outcomes if o.severity == ERROR], errors)
        yield _result(key, WARNINGS, dg.AssetCheckSeverity.WARN, outcomes, warns)

    return _gx_check


def build_checks() -> list[dg.AssetChecksDefinition]:
    suites = load_suites()
    known = _known_keys()
    return [build_model_check(m, specs) for m, specs in suites.items()
            if specs and (known is None or model_key(m) in known)]


CHECKS = build_checks()
