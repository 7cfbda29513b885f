"""The delivery-day partitions: one key per date in delivered file names (`YYYYMMDD`)."""

from pathlib import Path

import dagster as dg

from orchestration.lib.ingest.discover import order_key

DELIVERY_DAYS = dg.DynamicPartitionsDefinition(name="delivery_day")


def day_of(rel_path: str) -> str | None:
    """The delivery day of a delivered file, from its name; None without a date."""
    key = order_key(Path(rel_path).name)
    return key[:8] if key else None


def register_delivery_days(instance: dg.DagsterInstance, paths) -> list[str]:
    """Add the delivery days of `paths` not yet known as partitions; returns those added."""
    days = {d for p in paths if (d := day_of(p)) is not None}
    new = sorted(days - set(instance.get_dynamic_partitions(DELIVERY_DAYS.name)))
    if new:
        instance.add_dynamic_partitions(DELIVERY_DAYS.name, new)
    return new
