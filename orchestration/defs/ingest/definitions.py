"""The ingest area's definitions (loaded from the defs folder, see orchestration/definitions.py)."""

import dagster as dg

from orchestration.defs.ingest.assets import ingest_assets
from orchestration.defs.ingest.backfill import reland_delivery_day
from orchestration.defs.ingest.checks import delivery_silence
from orchestration.defs.ingest.sensors import exports_sensor

defs = dg.Definitions(assets=ingest_assets, asset_checks=[delivery_silence],
                      sensors=[exports_sensor], jobs=[reland_delivery_day])
