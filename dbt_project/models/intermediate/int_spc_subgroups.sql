-- Hourly subgroups of process readings per machine and parameter (canonical units), with
-- the centre line and sigma estimated from the subgroup means (individuals chart: sigma =
-- mean moving range / 1.128), and each subgroup's distance from the centre in sigmas.
-- The subgroups themselves (latest version of every reading, mean per hour) are
-- int_spc_hourly, kept between runs and derived again only for the hours that changed.
with subgroups as (
    select equipment_id, parameter, subgroup_start, subgroup_mean, readings
    from {{ ref('int_spc_hourly') }}
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
