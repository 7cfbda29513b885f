"""The loop area's definitions (loaded from the defs folder, see orchestration/definitions.py)."""

import dagster as dg

from orchestration.defs.loop.assets import close_the_loop, dbt_docs, quality_dashboard

defs = dg.Definitions(assets=[close_the_loop, quality_dashboard, dbt_docs])
