"""`QualitraceHome`: the Dagster resource through which every asset, check, sensor and op finds
the plant's home (warehouse, reports, state) and exports folder."""

from __future__ import annotations

import dagster as dg

from orchestration.lib.settings import Settings, get_settings

RESOURCE_KEY = "qualitrace"


class QualitraceHome(dg.ConfigurableResource):
    """The plant's Qualitrace home and its exports folder. Unset, they come from
    QUALITRACE_HOME / QUALITRACE_EXPORTS (what `qualitrace run` and `qualitrace dev` set),
    then ./.qualitrace and <home>/exports. Set them in a run's resource config to point one
    run at another home."""

    home: str | None = None
    exports: str | None = None
    # the engine that builds the dbt project: duckdb (default) or spark; unset, from
    # QUALITRACE_ENGINE / QUALITRACE_SPARK_MASTER (lib/engine.py)
    engine: str | None = None
    spark_master: str | None = None

    def engine_name(self) -> str:
        from orchestration.lib.engine import resolve_engine

        return resolve_engine(self.engine)

    def master(self) -> str | None:
        from orchestration.lib.engine import resolve_master

        return resolve_master(self.spark_master)

    def settings(self) -> Settings:
        """The home's paths, its folders created."""
        return self.paths().ensure()

    def paths(self) -> Settings:
        """The home's paths, nothing created (sensors only look)."""
        return get_settings(self.home or None, self.exports or None)
