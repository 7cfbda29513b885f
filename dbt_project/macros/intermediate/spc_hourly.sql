{#-
  int_spc_hourly kept between runs and derived again per hour (DuckDB).

    spc_hour_fingerprints()
        -> SELECT equipment_id, parameter, subgroup_start, _inputs_hash: per hour of readings
           (parameter not null), an md5 of the model's code (spc_hourly_rows, as rendered for
           an incremental run) and
           of an order-free digest (count, XOR and sum of row hashes) of every version of
           every reading of the hour: key, value, file, row, content and conformance hashes.
    spc_hourly_prune()   (pre_hook, incremental runs; prune_changed_keys in
                          macros/incremental/kept_per_key.sql)
        -> temp table sh_changed: the hours whose fingerprint differs from the one their row
           carries, new hours and vanished ones (hash NULL); then DELETE their rows. The model
           derives rows for sh_changed only. An hour whose readings all have no value has no
           row, so it is derived again on every run (it stays without one).
  A code change changes every fingerprint; `dbt build --full-refresh` rebuilds the table. On
  Spark the model is a table rebuilt in full and `_inputs_hash` is NULL.
-#}

{#- bump to derive every hour again -#}
{% macro spc_hourly_version() -%}spc_hourly.v1{%- endmacro %}

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

{% macro spc_hourly_code_hash() -%}
    {{ return(local_md5(spc_hourly_version() ~ '\n' ~ spc_hourly_rows(true))) }}
{%- endmacro %}

{% macro spc_hour_fingerprints() -%}
    {{ return(adapter.dispatch('spc_hour_fingerprints', 'qualitrace')(spc_hourly_code_hash())) }}
{%- endmacro %}

{% macro default__spc_hour_fingerprints(code_hash) -%}
    select equipment_id, parameter, subgroup_start,
           md5(concat_ws('#', '{{ code_hash }}', cast(n as varchar), cast(x as varchar),
                         cast(s as varchar))) as _inputs_hash
    from (
        select equipment_id, parameter, date_trunc('hour', ts) as subgroup_start,
               count(*) as n, bit_xor(h) as x, sum(cast(h as hugeint)) as s
        from (
            select equipment_id, parameter, ts,
                   hash(equipment_id, ts, parameter, value, _source_file, _source_row,
                        _file_sha256, _conform_hash) as h
            from {{ ref('stg_mes__process_readings') }}
            where parameter is not null
        ) as r
        group by equipment_id, parameter, date_trunc('hour', ts)
    ) as d
{%- endmacro %}

{% macro spark__spc_hour_fingerprints(code_hash) -%}
    select distinct equipment_id, parameter, {{ dbt.date_trunc('hour', 'ts') }} as subgroup_start,
           cast(null as {{ dbt.type_string() }}) as _inputs_hash
    from {{ ref('stg_mes__process_readings') }}
    where parameter is not null
{%- endmacro %}

{#- pre_hook: temp table sh_changed, the hours to derive again (kept_per_key.sql) -#}
{% macro spc_hourly_prune() -%}
    {{ prune_changed_keys(spc_hour_keys(), spc_hour_fingerprints, 'sh_changed', one_row_per_key=true) }}
{%- endmacro %}
