"""The dictionary area's definitions (loaded from the defs folder, see orchestration/definitions.py)."""

import dagster as dg

from orchestration.defs.dictionary.assets import dictionary_tables

defs = dg.Definitions(assets=[dictionary_tables])
