"""Ingest area: 16 `raw/<system>__<entity>` assets and the `exports_sensor`."""

import dagster as dg

from orchestration.defs.ingest.assets import build_ingest_assets, ingest_assets
from orchestration.defs.ingest.sensors import exports_sensor

defs = dg.Definitions(assets=ingest_assets, sensors=[exports_sensor])

__all__ = ["build_ingest_assets", "defs", "exports_sensor", "ingest_assets"]
