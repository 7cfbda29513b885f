"""The dbt area's definitions (loaded from the defs folder, see orchestration/definitions.py)."""

import dagster as dg

from orchestration.defs.dbt.assets import build_dbt_models
from orchestration.defs.dbt.checks import FILE_MANIFEST, rows_reconcile

DBT_MODELS = build_dbt_models()
defs = dg.Definitions(
    assets=[DBT_MODELS],
    asset_checks=[rows_reconcile] if FILE_MANIFEST in DBT_MODELS.keys else [],
)
