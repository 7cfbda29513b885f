{#-
  Process readings outside the process window of their machine (after unit conversion): the
  latest version (latest_version) of every reading whose value lies below the lower or above
  the upper spec limit, with its day, and one row with no reading (only reading_day and
  _inputs_hash) for a day that has none, so that every day carries its fingerprint. Ranking every
  reading is the expensive part, so it is done only for the readings whose business key
  (equipment_id, ts, parameter) has at least one version outside the window: the latest
  version of any other key cannot be outside either (the window depends only on
  equipment_id and parameter, which are part of the key). Same rows as ranking everything.

  On DuckDB the table is kept between runs and derived again per day: `_inputs_hash`
  fingerprints the day's readings (from int_spc_hourly's hourly fingerprints), the specs and
  this model's code (macros/intermediate/readings_outside.sql); a run deletes and derives only
  the days whose fingerprint changed, appeared or vanished, so a new day re-reads its own
  readings, not every reading (tests/test_dbt_incremental.py). On Spark a table rebuilt in
  full. int_readings_excursions attributes the excursions to batches.
-#}
{{ config(materialized=kept_table_materialization(), incremental_strategy='append',
          on_schema_change='sync_all_columns',
          pre_hook="{{ readings_outside_prune() }}") }}
with days as (
{%- if kept_table_is_incremental() %}
    -- the days whose readings or specs changed since the last build (the pre_hook found them)
    {{ changed_keys(readings_outside_keys(), 'ro_changed') }}
{%- else %}
    {{ readings_outside_fingerprints() }}
{%- endif %}
),
{{ readings_outside_rows() }}
select
    o.equipment_id,
    o.equipment_type,
    o.line,
    o.parameter,
    o.ts,
    o.value,
    o.value_as_delivered,
    o.unit_as_delivered,
    o.target,
    o.lsl,
    o.usl,
    o.spec_scope,
    o.direction,
    o._source_file,
    o._source_row,
    d.reading_day,
    d._inputs_hash
from days as d
left join outside as o
    on o.reading_day = d.reading_day
