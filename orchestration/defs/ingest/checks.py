"""`delivery_silence`: a WARN check on every raw asset saying whether its source system still
delivers (lib/ingest/silence.py; limit `delivery_silence_hours` in governance.yml). It runs
with ingest, so a run that finds nothing new (the usual case when a system went quiet)
still evaluates it."""

import datetime as dt

import dagster as dg

from orchestration.defs.ingest.assets import asset_key, current_dictionary
from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.ingest import entity_specs
from orchestration.lib.ingest.silence import judge, last_new_files
from orchestration.lib.warehouse import connect

CHECK = "delivery_silence"


def build_silence_check(dictionary=None) -> dg.AssetChecksDefinition:
    dictionary = dictionary if dictionary is not None else current_dictionary()
    entities = {asset_key(s.system, s.name): s.system for s in entity_specs(dictionary)}

    @dg.multi_asset_check(
        specs=[dg.AssetCheckSpec(CHECK, asset=key, blocking=False,
                                 description=f"WARN when no new {system} file has been landed "
                                             f"for longer than delivery_silence_hours")
               for key, system in entities.items()],
        name=CHECK, can_subset=True, pool="warehouse",
        description="Whether each source system still delivers (newest landed file's age).")
    def _delivery_silence(context: dg.AssetCheckExecutionContext, qualitrace: QualitraceHome):
        settings = qualitrace.settings()
        limit = current_dictionary().delivery_silence_hours
        with connect(settings, read_only=True) as con:
            last = last_new_files(con, sorted(set(entities.values())))
        silences = judge(last, dt.datetime.now(dt.UTC).replace(tzinfo=None), limit)
        for key in context.selected_asset_check_keys:
            s = silences[entities[key.asset_key]]
            yield dg.AssetCheckResult(
                asset_key=key.asset_key, check_name=CHECK, passed=not s.silent,
                severity=dg.AssetCheckSeverity.WARN, description=s.describe(limit),
                metadata={"system": s.system, "limit_hours": limit,
                          "hours_since_newest_file": round(s.hours, 1) if s.hours is not None
                          else None,
                          "newest_file_landed": str(s.last_new_file) if s.last_new_file
                          else "never"})

    return _delivery_silence


delivery_silence = build_silence_check()
