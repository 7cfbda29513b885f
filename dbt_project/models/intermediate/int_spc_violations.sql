-- Western Electric rules 1-4 on hourly subgroup means per machine and parameter:
--   WE1 one point beyond 3 sigma; WE2 two of three beyond 2 sigma on one side;
--   WE3 four of five beyond 1 sigma on one side; WE4 eight in a row on one side.
-- Consecutive flagged points of one rule are merged into one violation window; the batches
-- running on the machine's line during the window are listed.
with points as (
    select
        g.*,
        sum(case when z > 2 then 1 else 0 end) over (partition by equipment_id, parameter order by seq rows between 2 preceding and current row) as above2_in3,
        sum(case when z < -2 then 1 else 0 end) over (partition by equipment_id, parameter order by seq rows between 2 preceding and current row) as below2_in3,
        sum(case when z > 1 then 1 else 0 end) over (partition by equipment_id, parameter order by seq rows between 4 preceding and current row) as above1_in5,
        sum(case when z < -1 then 1 else 0 end) over (partition by equipment_id, parameter order by seq rows between 4 preceding and current row) as below1_in5,
        sum(case when z > 0 then 1 else 0 end) over (partition by equipment_id, parameter order by seq rows between 7 preceding and current row) as above0_in8,
        sum(case when z < 0 then 1 else 0 end) over (partition by equipment_id, parameter order by seq rows between 7 preceding and current row) as below0_in8,
        min(subgroup_start) over (partition by equipment_id, parameter order by seq rows between 2 preceding and current row) as start3,
        min(subgroup_start) over (partition by equipment_id, parameter order by seq rows between 4 preceding and current row) as start5,
        min(subgroup_start) over (partition by equipment_id, parameter order by seq rows between 7 preceding and current row) as start8
    from {{ ref('int_spc_subgroups') }} as g
    where z is not null
),

flags as (
    select equipment_id, parameter, 'WE1' as rule, seq, subgroup_start as window_start, subgroup_end as window_end, z
    from points where abs(z) > 3
    union all
    select equipment_id, parameter, 'WE2', seq, start3, subgroup_end, z
    from points where (z > 2 and above2_in3 >= 2) or (z < -2 and below2_in3 >= 2)
    union all
    select equipment_id, parameter, 'WE3', seq, start5, subgroup_end, z
    from points where (z > 1 and above1_in5 >= 4) or (z < -1 and below1_in5 >= 4)
    union all
    select equipment_id, parameter, 'WE4', seq, start8, subgroup_end, z
    from points where above0_in8 = 8 or below0_in8 = 8
),

islands as (
    select
        f.*,
        seq - row_number() over (partition by equipment_id, parameter, rule order by seq) as island
    from flags as f
),

violations as (
    select
        equipment_id,
        parameter,
        rule,
        min(window_start) as window_start,
        max(window_end) as window_end,
        count(*) as points_flagged,
        max(abs(z)) as max_abs_z
    from islands
    group by equipment_id, parameter, rule, island
),

with_line as (
    select v.*, sp.line
    from violations as v
    left join {{ ref('int_equipment_specs') }} as sp
        on sp.equipment_id = v.equipment_id and sp.parameter = v.parameter
),

batches as (
    select distinct v.equipment_id, v.parameter, v.rule, v.window_start, b.batch_code
    from with_line as v
    inner join {{ ref('int_batches_enriched') }} as b
        on b.line = v.line
        and b.batch_start < v.window_end
        and b.batch_end > v.window_start
),

batch_lists as (
    select equipment_id, parameter, rule, window_start,
           {{ dbt.listagg('batch_code', "','", 'order by batch_code') }} as batch_codes
    from batches
    group by equipment_id, parameter, rule, window_start
)

select
    {{ dbt.concat(['v.equipment_id', "'|'", 'v.parameter', "'|'", 'v.rule', "'|'",
                   dbt.safe_cast('v.window_start', dbt.type_string())]) }} as violation_key,
    v.equipment_id,
    v.line,
    v.parameter,
    v.rule,
    v.window_start,
    v.window_end,
    v.points_flagged,
    v.max_abs_z,
    bl.batch_codes
from with_line as v
left join batch_lists as bl
    on bl.equipment_id = v.equipment_id and bl.parameter = v.parameter
    and bl.rule = v.rule and bl.window_start = v.window_start
