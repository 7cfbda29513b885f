"""Quality area: GX asset checks on staging/intermediate models, and the governance report."""

import dagster as dg

from orchestration.defs.quality.checks import CHECKS
from orchestration.defs.quality.report import governance_report
from orchestration.defs.quality.sensors import governance_after_stopped_run

defs = dg.Definitions(assets=[governance_report], asset_checks=CHECKS,
                      sensors=[governance_after_stopped_run])

__all__ = ["defs"]
