"""Ingest area: 16 `raw/<system>__<entity>` assets, the `exports_sensor` and the
`reland_delivery_day` job (a partition per delivery day) and the `delivery_silence` checks."""

import dagster as dg

from orchestration.defs.ingest.assets import build_ingest_assets, ingest_assets
from orchestration.defs.ingest.backfill import reland_delivery_day
from orchestration.defs.ingest.checks import delivery_silence
from orchestration.defs.ingest.sensors import exports_sensor

defs = dg.Definitions(assets=ingest_assets, asset_checks=[delivery_silence],
                      sensors=[exports_sensor], jobs=[reland_delivery_day])

__all__ = ["build_ingest_assets", "defs", "exports_sensor", "ingest_assets"]
