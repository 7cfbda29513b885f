{#- One row per Western Electric rule violation (rules 1-4) per machine and parameter. -#}
select
    v.violation_key as spc_violation_key,  -- equipment|parameter|rule|window start (int_spc_violations)
    v.equipment_id,
    v.line,
    v.parameter,
    v.rule,
    v.window_start,
    v.window_end,
    v.points_flagged,
    v.max_abs_z,
    v.batch_codes,
    {{ id_list('v.batch_codes') }} as batch_codes_list
from {{ ref('int_spc_violations') }} as v
