"""dbt area: the dbt models (by layer) and the reconciliation gate."""

import dagster as dg

from orchestration.defs.dbt.assets import DBT_ASSETS, _schemas
from orchestration.defs.dbt.checks import FILE_MANIFEST, rows_reconcile


def _has_file_manifest() -> bool:
    keys = {k for a in DBT_ASSETS for k in a.keys}
    return FILE_MANIFEST in keys


defs = dg.Definitions(
    assets=DBT_ASSETS,
    asset_checks=[rows_reconcile] if _has_file_manifest() else [],
)

__all__ = ["defs", "_schemas"]
