"""The publish area's definitions (loaded from the defs folder, see
orchestration/definitions.py): publish waits for every gated asset of the areas that carry
blocking checks."""

from orchestration.defs.dbt import definitions as dbt_area
from orchestration.defs.ingest import definitions as ingest_area
from orchestration.defs.publish.assets import build_defs, gate_keys
from orchestration.defs.quality import definitions as quality_area

defs = build_defs(gate_keys(ingest_area.defs, dbt_area.defs, quality_area.defs))
