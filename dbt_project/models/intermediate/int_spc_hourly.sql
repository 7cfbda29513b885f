{#-
  Hourly subgroups of process readings per machine and parameter (canonical units): the mean
  and count of the latest version of every reading of the hour (latest_version). Ranking every
  reading is the expensive part and almost every business key (equipment_id, ts, parameter)
  has a single version, so only the keys delivered more than once are ranked; the others are
  taken as they are. Rows with no parameter never form a subgroup. A reading's key lies in one
  hour, so an hour's subgroup depends on that hour's readings alone.

  On DuckDB the table is kept between runs and derived again per hour: every row lists the
  file versions of its hour's readings (`_source_versions`) and carries `_inputs_hash` (that
  list and this model's code; macros/intermediate/spc_hourly.sql). A run deletes and derives
  only the hours of versions that are new or no longer delivered (and every hour after a code
  change), so a new day re-reads its own hours; finding them reads the versions, not every
  reading (tests/test_dbt_incremental.py). On Spark a table rebuilt in full.
-#}
{{ config(materialized=kept_table_materialization(), incremental_strategy='append',
          on_schema_change='sync_all_columns',
          pre_hook="{{ spc_hourly_prune() }}") }}
with
{%- if kept_table_is_incremental() %}
hours as (
    -- the hours to derive again (the pre_hook found them and deleted their rows)
    select equipment_id, parameter, subgroup_start from sh_changed
),
{%- endif %}
{{ spc_hourly_rows(kept_table_is_incremental()) }}
{%- if spc_hourly_keeps_lineage() %},

{{ spc_hour_lineage_ctes() }}
select s.equipment_id, s.parameter, s.subgroup_start, s.subgroup_mean, s.readings,
       {{ spc_hour_inputs_hash('l._source_versions') }} as _inputs_hash, l._source_versions
from subgroups as s
inner join lineage as l
    on l.equipment_id = s.equipment_id and l.parameter = s.parameter
   and l.subgroup_start = s.subgroup_start
{%- else %}
select s.equipment_id, s.parameter, s.subgroup_start, s.subgroup_mean, s.readings,
       cast(null as {{ dbt.type_string() }}) as _inputs_hash,
       cast(null as {{ dbt.type_string() }}) as _source_versions
from subgroups as s
{%- endif %}
