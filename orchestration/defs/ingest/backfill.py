"""`reland_delivery_day`: one partition per delivery day (`YYYYMMDD`, the date in the file
names). Materialising a partition from the UI (or backfilling a range of them) lands that
day's files again and reads no other; the raw assets it rewrote are reported as
materialised, so the UI shows what downstream is now stale for the next run.

The ingest assets add every day they land to the partitions (partitions.py)."""

import dagster as dg

from orchestration.defs.ingest.assets import asset_key, current_dictionary
from orchestration.defs.ingest.partitions import DELIVERY_DAYS
from orchestration.lib.home_resource import QualitraceHome
from orchestration.lib.ingest.reland import reland_day


@dg.op(pool="warehouse", description="Land the files of the partition's delivery day again.")
def reland_day_files(context: dg.OpExecutionContext, qualitrace: QualitraceHome):
    day = context.partition_key
    summaries = reland_day(qualitrace.settings(), current_dictionary(), day)
    for s in summaries:
        context.log.info(f"{s.system}/{s.entity}: {len(s.files)} file(s) of {day} landed "
                         f"again, {s.rows_landed} rows, {s.rows_quarantined} quarantined")
        yield dg.AssetMaterialization(
            asset_key=asset_key(s.system, s.entity),
            description=f"files of delivery day {day} landed again",
            metadata={"delivery_day": day, "files": len(s.files),
                      "rows_landed": s.rows_landed, "rows_quarantined": s.rows_quarantined,
                      "dagster/row_count": s.table_rows})
    yield dg.Output(None)


@dg.job(name="reland_delivery_day", partitions_def=DELIVERY_DAYS,
        description="Re-land one delivery day's export files (a partition per day; backfill "
                    "a range from the UI). Downstream models rebuild on the next run.")
def reland_delivery_day():
    reland_day_files()
