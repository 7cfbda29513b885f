{#-
  Hourly subgroups of process readings per machine and parameter (canonical units): the mean
  and count of the latest version of every reading of the hour (latest_version). Ranking every
  reading is the expensive part and almost every business key (equipment_id, ts, parameter)
  has a single version, so only the keys delivered more than once are ranked; the others are
  taken as they are. Rows with no parameter never form a subgroup. A reading's key lies in one
  hour, so an hour's subgroup depends on that hour's readings alone.

  On DuckDB the table is kept between runs and derived again per hour: `_inputs_hash`
  fingerprints every version of every reading of the hour and this model's code
  (macros/intermediate/spc_hourly.sql); a run deletes and derives only the hours whose
  fingerprint changed, appeared or vanished, so a new day re-reads its own hours, not every
  reading (tests/test_spc_hourly_incremental.py). On Spark a table rebuilt in full.
-#}
{{ config(materialized=kept_table_materialization(), incremental_strategy='append',
          on_schema_change='sync_all_columns',
          pre_hook="{{ spc_hourly_prune() }}") }}
with hours as (
{%- if kept_table_is_incremental() %}
    -- the hours whose readings changed since the last build (the pre_hook found them)
    {{ changed_keys(spc_hour_keys(), 'sh_changed') }}
{%- else %}
    {{ spc_hour_fingerprints() }}
{%- endif %}
),
{{ spc_hourly_rows(kept_table_is_incremental()) }}
select s.equipment_id, s.parameter, s.subgroup_start, s.subgroup_mean, s.readings,
       h._inputs_hash
from subgroups as s
join hours as h
  on h.equipment_id = s.equipment_id and h.parameter = s.parameter
 and h.subgroup_start = s.subgroup_start
