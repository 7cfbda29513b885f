"""The quality gate: expectation suites from the dictionary, validated with Great
Expectations, recorded in `governance.check_results`, alerted through `governance.alerts`,
and reported in `<home>/reports/index.html`.

    suites = build_suites(load_dictionary())
    outcomes = validate_model(settings, "stg_crm__complaints", suites["stg_crm__complaints"])
    record_results(settings, run_id, outcomes)
    raise_alerts(settings, outcomes, run_id)
    render_report(settings)
"""

from orchestration.lib.quality.alerts import Alert, raise_alerts
from orchestration.lib.quality.gate import GateFailed, run_gate, run_model_checks
from orchestration.lib.quality.model import ERROR, WARN, CheckOutcome, ExpectationSpec
from orchestration.lib.quality.report import render_report
from orchestration.lib.quality.results import record_results
from orchestration.lib.quality.suites import build_suites
from orchestration.lib.quality.validate import asset_path, model_schema, validate_model

__all__ = [
    "ERROR",
    "WARN",
    "Alert",
    "CheckOutcome",
    "ExpectationSpec",
    "GateFailed",
    "asset_path",
    "build_suites",
    "model_schema",
    "raise_alerts",
    "record_results",
    "render_report",
    "run_gate",
    "run_model_checks",
    "validate_model",
]
