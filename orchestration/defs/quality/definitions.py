"""The quality area's definitions (loaded from the defs folder, see orchestration/definitions.py)."""

import dagster as dg

from orchestration.defs.quality.checks import CHECKS
from orchestration.defs.quality.report import governance_report
from orchestration.defs.quality.sensors import governance_after_stopped_run

defs = dg.Definitions(assets=[governance_report], asset_checks=CHECKS,
                      sensors=[governance_after_stopped_run])
