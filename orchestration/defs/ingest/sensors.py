"""`exports_sensor`: start a run for the entities with new files under the exports root."""


import hashlib

import dagster as dg
import duckdb

from orchestration.defs.ingest.assets import current_dictionary
from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.ingest import DeliveredFile, discover
from orchestration.lib.settings import Settings
from orchestration.lib.warehouse import WarehouseBusy, connect

LOCK_TIMEOUT = 2.0


def known_files(settings: Settings) -> set[tuple[str, int, float]] | None:
    """(path, size, mtime) of every file version in the manifest; None if the warehouse is
    busy (another process holds it longer than LOCK_TIMEOUT seconds)."""
    if not settings.warehouse.exists():
        return set()
    try:
        with connect(settings, read_only=True, timeout=LOCK_TIMEOUT) as con:
            rows = con.execute("SELECT path, size_bytes, mtime, ctime FROM raw._file_manifest "
                               "WHERE status <> 'superseded'").fetchall()
    except WarehouseBusy:
        return None
    except (duckdb.CatalogException, duckdb.BinderException):  # no manifest (columns) yet
        return set()
    return {(p, int(s), float(m), float(c or 0)) for p, s, m, c in rows if m is not None}


def new_files(settings: Settings, dictionary) -> list[DeliveredFile] | None:
    known = known_files(settings)
    if known is None:
        return None
    return [f for f in discover(settings.exports, dictionary)
            if f.entity is not None and (f.rel_path, f.size, f.mtime, f.ctime) not in known]


@dg.sensor(
    name="exports_sensor",
    description="Watches the exports root; when files arrive (new paths, or changed size/"
                "mtime), runs the pipeline: ingest lands them and the dbt step rebuilds only "
                "what they reach (lib/partial_build.py), then the gate and publish.",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    target=dg.AssetSelection.all(),
)
def exports_sensor(context: dg.SensorEvaluationContext, qualitrace: QualitraceHome):
    """One run of the whole pipeline per new set of files, like `qualitrace run`: a run of
    every asset lets the pipeline decide what to rebuild (only the models downstream of the
    entities that received files), records what it published for the next run, and checks
    every model (a subset run would rebuild less but leave the next run to rebuild all)."""
    settings = qualitrace.paths()
    dictionary = current_dictionary()
    files = new_files(settings, dictionary)
    if files is None:
        return dg.SkipReason("the warehouse is busy (a run is writing); will look again")
    if not files:
        return dg.SkipReason(f"no new files under {settings.exports}")
    entities = sorted({f"{f.system}__{f.entity}" for f in files})
    identity = "\n".join(sorted(f"{f.rel_path}|{f.size}|{f.mtime}" for f in files))
    run_key = "exports-" + hashlib.sha256(identity.encode()).hexdigest()[:20]
    context.log.info(f"{len(files)} new file(s) for {len(entities)} entities: "
                     + ", ".join(f.rel_path for f in files[:20]))
    return dg.RunRequest(run_key=run_key,
                         tags={"qualitrace/trigger": "exports_sensor",
                               "qualitrace/new_files": str(len(files)),
                               "qualitrace/new_entities": ",".join(entities)[:200]})
