{#-
  int_spc_hourly kept between runs and derived again per hour (DuckDB).

  A reading's row is made of its file version: the file, its content (`_file_sha256`) and its
  conformance (`_conform_hash`); ingest lands a version once and its rows never change. Every
  hour's row lists the versions of the readings it was derived from (`_source_versions`: each
  version as a 64-bit number, spc_reading_version; sorted, comma-separated) and carries
  `_inputs_hash`, an md5 of that list and of the code the row follows (spc_hourly_code_hash:
  this model's SQL as rendered for an incremental run, and the readings view's definition).
  So what changed is found from the few versions, not by reading every reading:

    spc_hourly_prune()   (pre_hook, incremental runs)
        -> temp table sh_changed: the hours to derive again, then DELETE their rows:
           - the hours whose list names a version no longer delivered (superseded, withdrawn,
             re-conformed) or whose hash is not this code's (another code version, no list);
           - the hours of every reading of a version no kept list names (a new file or
             version; every version after a code change).
           The model derives rows for sh_changed only, from every reading of those hours.
  An hour whose readings all have no value has no row: it is derived again whenever one of
  its versions is new (a version seen only in such hours is new on every run).
  `dbt build --full-refresh` rebuilds the table. On Spark the model is a table rebuilt in
  full and `_inputs_hash`, `_source_versions` are NULL.
-#}

{#- bump to derive every hour again -#}
{% macro spc_hourly_version() -%}spc_hourly.v2{%- endmacro %}

{% macro spc_hour_keys() -%}
    {{ return(['equipment_id', 'parameter', 'subgroup_start']) }}
{%- endmacro %}

{#- the CTEs readings, ..., subgroups of the model: the subgroups of every hour, or (restrict)
    of the hours in CTE `hours` -#}
{% macro spc_hourly_rows(restrict) -%}
readings as (
    select r.*
    from {{ ref('stg_mes__process_readings') }} as r
{%- if restrict %}
    inner join hours as h
        on h.equipment_id = r.equipment_id and h.parameter = r.parameter
       and h.subgroup_start = {{ dbt.date_trunc('hour', 'r.ts') }}
{%- endif %}
    where r.parameter is not null
),

repeated_keys as (
    select equipment_id, ts, parameter
    from readings
    group by equipment_id, ts, parameter
    having count(*) > 1
),

-- the versions of the repeated keys, under the staging model's own name so that
-- latest_version ranks them exactly as it ranks stg_mes__process_readings
stg_mes__process_readings as (
    select r.*
    from readings as r
    inner join repeated_keys as k
        on k.equipment_id = r.equipment_id and k.ts = r.ts and k.parameter = r.parameter
),

latest as (
    select r.*
    from readings as r
    where not exists (
        select 1 from repeated_keys as k
        where k.equipment_id = r.equipment_id and k.ts = r.ts and k.parameter = r.parameter
    )
    union all
    select * from {{ latest_version('stg_mes__process_readings') }} as v
),

subgroups as (
    select
        equipment_id,
        parameter,
        {{ dbt.date_trunc('hour', 'ts') }} as subgroup_start,
        avg(value) as subgroup_mean,
        count(*) as readings
    from latest as r
    where value is not null and parameter is not null
    group by equipment_id, parameter, {{ dbt.date_trunc('hour', 'ts') }}
)
{%- endmacro %}

{#- the code an hour's row follows: this model's SQL, and the readings' own definition (a
    view over the staging table: a changed filter changes which rows of a version it shows) -#}
{% macro spc_hourly_code_hash() -%}
    {{ return(local_md5(spc_hourly_version() ~ '\n' ~ spc_hourly_rows(true) ~ '\n'
                        ~ spc_reading_version('r') ~ '\n' ~ spc_hour_lineage_ctes() ~ '\n'
                        ~ relation_definition(ref('stg_mes__process_readings')))) }}
{%- endmacro %}

{#- the stored definition of a view (empty for a table, or while parsing). DuckDB writes the
    columns of an EXCLUDE list in no fixed order (another process, another order): sorted. -#}
{% macro relation_definition(relation) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set rows = run_query("select view_definition from information_schema.views where "
                             ~ "table_schema = " ~ conform_sql_string(relation.schema)
                             ~ " and table_name = " ~ conform_sql_string(relation.identifier)).rows -%}
    {%- if rows | length == 0 or not rows[0][0] -%}{{ return('') }}{%- endif -%}
    {%- set ns = namespace(text=rows[0][0]) -%}
    {%- for listed in modules.re.findall('EXCLUDE \\(([^)]*)\\)', ns.text) -%}
        {%- set ns.text = ns.text.replace('EXCLUDE (' ~ listed ~ ')',
                                          'EXCLUDE (' ~ (listed.split(', ') | sort | join(', ')) ~ ')') -%}
    {%- endfor -%}
    {{ return(ns.text) }}
{%- endmacro %}

{#- a reading's file version (what its row is made of) as a number: the file, its content
    (`_file_sha256`) and its conformance (`_conform_hash`) -#}
{% macro spc_reading_version(alias) -%}
    {{ return(adapter.dispatch('spc_reading_version', 'qualitrace')(alias)) }}
{%- endmacro %}

{% macro default__spc_reading_version(alias) -%}
    hash({{ alias }}._file_sha256, {{ alias }}._conform_hash, {{ alias }}._source_file)
{%- endmacro %}

{#- whether rows carry their lineage (the table is kept between runs) -#}
{% macro spc_hourly_keeps_lineage() -%}
    {{ return(kept_table_materialization() == 'incremental') }}
{%- endmacro %}

{#- CTE `lineage`: per hour of CTE `readings`, `_source_versions`, the versions of every reading
    of the hour (values or not) as text, sorted and comma-separated. The list is aggregated
    only for the few hours of more than one version (min = max for all the others). -#}
{% macro spc_hour_lineage_ctes() -%}
reading_versions as (
    select equipment_id, parameter, {{ dbt.date_trunc('hour', 'r.ts') }} as subgroup_start,
           {{ spc_reading_version('r') }} as version
    from readings as r
),

version_span as (
    select equipment_id, parameter, subgroup_start,
           min(version) as first_version, max(version) as last_version
    from reading_versions
    group by equipment_id, parameter, subgroup_start
),

version_lists as (
    select v.equipment_id, v.parameter, v.subgroup_start,
           {{ dbt.listagg('distinct ' ~ dbt.safe_cast('v.version', dbt.type_string()), "','",
                          'order by ' ~ dbt.safe_cast('v.version', dbt.type_string())) }} as versions
    from reading_versions as v
    inner join version_span as s
        on s.equipment_id = v.equipment_id and s.parameter = v.parameter
       and s.subgroup_start = v.subgroup_start and s.first_version <> s.last_version
    group by v.equipment_id, v.parameter, v.subgroup_start
),

lineage as (
    select s.equipment_id, s.parameter, s.subgroup_start,
           coalesce(l.versions, {{ dbt.safe_cast('s.first_version', dbt.type_string()) }})
               as _source_versions
    from version_span as s
    left join version_lists as l
        on l.equipment_id = s.equipment_id and l.parameter = s.parameter
       and l.subgroup_start = s.subgroup_start
)
{%- endmacro %}

{#- an hour's `_inputs_hash`: this model's code and the hour's versions -#}
{% macro spc_hour_inputs_hash(versions) -%}
    md5({{ dbt.concat(["'" ~ spc_hourly_code_hash() ~ "#'", versions]) }})
{%- endmacro %}

{#- pre_hook: temp table sh_changed, the hours to derive again, whose rows are deleted -#}
{% macro spc_hourly_prune() -%}
{%- if kept_table_is_incremental() -%}
{%- set stg = ref('stg_mes__process_readings') -%}
{%- set has_lists = _by_file_has_column(this, '_source_versions') -%}
{%- set lists = '_source_versions' if has_lists else 'cast(null as ' ~ dbt.type_string() ~ ')' -%}
create or replace temp table sh_versions_now as
select cast({{ spc_reading_version('v') }} as varchar) as version, v._source_file
from (select distinct _file_sha256, _conform_hash, _source_file
      from {{ stg }} where parameter is not null) as v;
create or replace temp table sh_held as
select distinct {{ lists }} as _source_versions, _inputs_hash from {{ this }};
create or replace temp table sh_held_versions as
select _source_versions, unnest(string_split(_source_versions, ',')) as version
from sh_held
where _source_versions is not null;
create or replace temp table sh_stale as
select _source_versions, _inputs_hash
from sh_held as h
where h._source_versions is null
   or h._inputs_hash is distinct from {{ spc_hour_inputs_hash('h._source_versions') }}
   or h._source_versions in (select hv._source_versions from sh_held_versions as hv
                             where hv.version not in (select version from sh_versions_now));
create or replace temp table sh_new as
select version, _source_file from sh_versions_now
where version not in (select hv.version from sh_held_versions as hv
                      where not exists (select 1 from sh_stale as s
                                        where s._source_versions = hv._source_versions));
create or replace temp table sh_changed as
select distinct equipment_id, parameter, subgroup_start from (
    select t.equipment_id, t.parameter, t.subgroup_start
    from {{ this }} as t
    inner join sh_stale as s
        on s._source_versions is not distinct from {{ 't._source_versions' if has_lists else lists }}
       and s._inputs_hash is not distinct from t._inputs_hash
    union all
    select r.equipment_id, r.parameter, {{ dbt.date_trunc('hour', 'r.ts') }}
    from {{ stg }} as r
    where r.parameter is not null
      and r._source_file in (select _source_file from sh_new)
      and cast({{ spc_reading_version('r') }} as varchar) in (select version from sh_new)
) as c;
delete from {{ this }} as t
where exists (select 1 from sh_changed as c
              where c.equipment_id = t.equipment_id and c.parameter = t.parameter
                and c.subgroup_start = t.subgroup_start)
{%- endif -%}
{%- endmacro %}
