-- Western Electric rules 1-4 on hourly subgroup means per machine and parameter:
--   WE1 one point beyond 3 sigma; WE2 two of three beyond 2 sigma on one side;
--   WE3 four of five beyond 1 sigma on one side; WE4 eight in a row on one side.
-- Consecutive flagged points of one rule are merged into one violation window; the batches
-- running on the machine's line during the window are listed.
with recent as (
    -- each point with the z of the 7 points before it on the machine's chart (NULL before
    -- the first point), and the start of the windows of 3, 5 and 8 points ending at it: one
    -- sort of the chart; lags instead of sums over moving frames (which cost several times
    -- more over the 7M subgroups of scale 10)
    select
        g.*,
        lag(z, 1) over w as z1, lag(z, 2) over w as z2, lag(z, 3) over w as z3,
        lag(z, 4) over w as z4, lag(z, 5) over w as z5, lag(z, 6) over w as z6,
        lag(z, 7) over w as z7,
        coalesce(lag(subgroup_start, 2) over w, first_value(subgroup_start) over w) as start3,
        coalesce(lag(subgroup_start, 4) over w, first_value(subgroup_start) over w) as start5,
        coalesce(lag(subgroup_start, 7) over w, first_value(subgroup_start) over w) as start8
    from {{ ref('int_spc_subgroups') }} as g
    where z is not null
    window w as (partition by equipment_id, parameter order by seq)
),

points as (
    -- how many of the last 3, 5, 8 points (this one included) lie beyond 2, 1, 0 sigma on
    -- each side
    select
        r.*,
{%- for name, cmp, n in [('above2_in3', '> 2', 3), ('below2_in3', '< -2', 3),
                         ('above1_in5', '> 1', 5), ('below1_in5', '< -1', 5),
                         ('above0_in8', '> 0', 8), ('below0_in8', '< 0', 8)] %}
        {% for k in range(n) -%}
        case when {{ 'z' if k == 0 else 'z' ~ k }} {{ cmp }} then 1 else 0 end{{ ' + ' if not loop.last }}
        {%- endfor %} as {{ name }}{{ ',' if not loop.last }}
{%- endfor %}
    from recent as r
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
