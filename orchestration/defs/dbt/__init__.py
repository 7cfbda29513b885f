"""dbt area: the dbt models by layer, and the reconciliation gate.

`defs` holds everything before the gate (dbt_models + the reconciliation check);
`marts_defs(gate)` the marts_build models, made to wait for every gated asset.
"""

import dagster as dg

from orchestration.defs.dbt.assets import build_dbt_marts_build, build_dbt_models, has_marts
from orchestration.defs.dbt.checks import FILE_MANIFEST, rows_reconcile

DBT_MODELS = build_dbt_models()

defs = dg.Definitions(
    assets=[DBT_MODELS],
    asset_checks=[rows_reconcile] if FILE_MANIFEST in DBT_MODELS.keys else [],
)


def marts_defs(gate) -> dg.Definitions:
    return dg.Definitions(assets=[build_dbt_marts_build(list(gate))] if has_marts() else [])


__all__ = ["defs", "marts_defs"]
