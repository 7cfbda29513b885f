{#-
  int_readings_outside kept between runs and derived again per day of readings (DuckDB),
  from the hourly fingerprints int_spc_hourly already keeps (macros/intermediate/spc_hourly.sql).

    readings_outside_fingerprints()
        -> SELECT reading_day, _inputs_hash: per day with an hour in int_spc_hourly, an md5 of
           this model's code (readings_outside_rows, as rendered for an incremental run), of an
           order-free digest (count, XOR and sum of row hashes) of the day's hours and their
           own fingerprints (every version of every reading of the hour), and of every spec row
           (int_equipment_specs: a spec change derives every day again). A reading's business
           key lies in one day, and no batch enters the rows (int_readings_excursions joins
           batches), so a day's rows depend on that day's readings and the specs alone.
           An excursion is the latest version of a reading with a value outside the window, so
           its hour has a subgroup (a latest version with a value) and its day a fingerprint.
    readings_outside_prune()   (pre_hook, incremental runs; prune_changed_keys in
                                macros/incremental/kept_per_key.sql)
        -> temp table ro_changed: the days whose fingerprint differs from the one their rows
           carry, new days and vanished ones; then DELETE their rows.

  Finding the changed days reads int_spc_hourly (one row per machine, parameter and hour), not
  the readings, so a new day re-reads only its own readings. A code change changes every
  fingerprint; `dbt build --full-refresh` rebuilds the table. On Spark a table rebuilt in full.
-#}

{#- bump to derive every hour again -#}
{% macro readings_outside_version() -%}readings_outside.v1{%- endmacro %}

{% macro readings_outside_keys() -%}
    {{ return(['reading_day']) }}
{%- endmacro %}

{#- the CTEs spec_readings, ..., outside: the excursions of the days in CTE `days` -#}
{% macro readings_outside_rows() -%}
spec_readings as (
    select
        r.*,
        sp.equipment_type,
        sp.line,
        sp.target,
        sp.lsl,
        sp.usl,
        sp.spec_scope,
        d.reading_day
    from {{ ref('stg_mes__process_readings') }} as r
    inner join days as d
        on d.reading_day = {{ dbt.date_trunc('day', 'r.ts') }}
    inner join {{ ref('int_equipment_specs') }} as sp
        on sp.equipment_id = r.equipment_id
        and sp.parameter = r.parameter
),

candidate_keys as (
    select distinct equipment_id, ts, parameter
    from spec_readings
    where value < lsl or value > usl
),

-- every version of the candidate keys, under the staging model's own name so that
-- latest_version ranks it exactly as it ranks stg_mes__process_readings
stg_mes__process_readings as (
    select r.*
    from spec_readings as r
    inner join candidate_keys as k
        on k.equipment_id = r.equipment_id
        and k.ts = r.ts
        and k.parameter = r.parameter
),

outside as (
    select
        r.equipment_id,
        r.equipment_type,
        r.line,
        r.parameter,
        r.ts,
        r.value,
        r.value_as_delivered,
        r.unit as unit_as_delivered,
        r.target,
        r.lsl,
        r.usl,
        r.spec_scope,
        case when r.value < r.lsl then 'below_lsl' else 'above_usl' end as direction,
        r._source_file,
        r._source_row,
        r.reading_day
    from {{ latest_version('stg_mes__process_readings') }} as r
    where r.value < r.lsl or r.value > r.usl
)
{%- endmacro %}

{% macro readings_outside_code_hash() -%}
    {{ return(local_md5(readings_outside_version() ~ '\n' ~ readings_outside_rows())) }}
{%- endmacro %}

{% macro readings_outside_fingerprints() -%}
    {{ return(adapter.dispatch('readings_outside_fingerprints', 'qualitrace')(readings_outside_code_hash())) }}
{%- endmacro %}

{% macro default__readings_outside_fingerprints(code_hash) -%}
    select d.reading_day,
           md5(concat_ws('#', '{{ code_hash }}', cast(d.n as varchar), cast(d.x as varchar),
                         cast(d.s as varchar), sp.specs)) as _inputs_hash
    from (
        select reading_day, count(*) as n, bit_xor(h) as x, sum(cast(h as hugeint)) as s
        from (
            select date_trunc('day', subgroup_start) as reading_day,
                   hash(equipment_id, parameter, subgroup_start, _inputs_hash) as h
            from {{ ref('int_spc_hourly') }}
        ) as hr
        group by reading_day
    ) as d
    cross join (
        select coalesce(string_agg(concat_ws('|', coalesce(equipment_id, '-'),
                                             coalesce(equipment_type, '-'), coalesce(line, '-'),
                                             coalesce(parameter, '-'),
                                             coalesce(cast(target as varchar), '-'),
                                             coalesce(cast(lsl as varchar), '-'),
                                             coalesce(cast(usl as varchar), '-'),
                                             coalesce(spec_scope, '-')), '#'
                                   order by equipment_id, parameter, equipment_type, line,
                                            target, lsl, usl, spec_scope), '-') as specs
        from {{ ref('int_equipment_specs') }}
    ) as sp
{%- endmacro %}

{% macro spark__readings_outside_fingerprints(code_hash) -%}
    select distinct {{ dbt.date_trunc('day', 'subgroup_start') }} as reading_day,
           cast(null as {{ dbt.type_string() }}) as _inputs_hash
    from {{ ref('int_spc_hourly') }}
{%- endmacro %}

{#- pre_hook: temp table ro_changed, the days to derive again (kept_per_key.sql) -#}
{% macro readings_outside_prune() -%}
    {{ prune_changed_keys(readings_outside_keys(), readings_outside_fingerprints, 'ro_changed') }}
{%- endmacro %}
