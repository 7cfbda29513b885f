-- Hourly subgroups of process readings per machine and parameter (canonical units), with
-- the centre line and sigma estimated from the subgroup means (individuals chart: sigma =
-- mean moving range / 1.128), and each subgroup's distance from the centre in sigmas.
-- Only the latest version of a reading counts (latest_version). Ranking every reading is the
-- expensive part and almost every business key (equipment_id, ts, parameter) has a single
-- version, so only the keys delivered more than once are ranked; the others are taken as
-- they are. Rows with no parameter never form a subgroup and are left out first, so every
-- key part is non-null and plain equi-joins match keys exactly. Same rows as ranking all.
with readings as (
    select *
    from {{ ref('stg_mes__process_readings') }}
    where parameter is not null
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
),

ordered as (
    select
        s.*,
        row_number() over (partition by equipment_id, parameter order by subgroup_start) as seq,
        abs(subgroup_mean - lag(subgroup_mean) over (
            partition by equipment_id, parameter order by subgroup_start
        )) as moving_range
    from subgroups as s
),

limits as (
    select
        equipment_id,
        parameter,
        avg(subgroup_mean) as center_line,
        avg(moving_range) / 1.128 as sigma,
        count(*) as subgroups
    from ordered
    group by equipment_id, parameter
)

select
    o.equipment_id,
    o.parameter,
    o.seq,
    o.subgroup_start,
    {{ dbt.dateadd('hour', 1, 'o.subgroup_start') }} as subgroup_end,
    o.subgroup_mean,
    o.readings,
    l.center_line,
    l.sigma,
    case when l.sigma > 0 then (o.subgroup_mean - l.center_line) / l.sigma end as z
from ordered as o
inner join limits as l
    on l.equipment_id = o.equipment_id and l.parameter = o.parameter
where l.subgroups >= 8
