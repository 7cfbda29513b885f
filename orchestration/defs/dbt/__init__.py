"""dbt area: every dbt model (one `dbt build`), and the reconciliation gate.

`defs` holds the dbt models (staging, intermediate, governance, marts_build) and the
reconciliation check; publish, not marts_build, waits for the gate (see `defs/publish`).
"""

import dagster as dg

from orchestration.defs.dbt.assets import build_dbt_models
from orchestration.defs.dbt.checks import FILE_MANIFEST, rows_reconcile

DBT_MODELS = build_dbt_models()

defs = dg.Definitions(
    assets=[DBT_MODELS],
    asset_checks=[rows_reconcile] if FILE_MANIFEST in DBT_MODELS.keys else [],
)


__all__ = ["defs"]
