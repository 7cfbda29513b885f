"""The shared resources (loaded from the defs folder, see orchestration/definitions.py)."""

import dagster as dg

from orchestration.lib.home_resource import RESOURCE_KEY, QualitraceHome

defs = dg.Definitions(resources={RESOURCE_KEY: QualitraceHome()})
