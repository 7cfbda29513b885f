-- The process window that applies to each machine and parameter: a spec row naming the
-- machine wins over the spec row for its equipment type. Limits in canonical units.
-- An equipment type the dictionary does not know yet (NULL, a dictionary gap) still matches
-- the same spelling as typed in the equipment export, so a new plant's own machine types
-- (点焊机) get their process windows on the first run.
with equipment as (
    select * from {{ latest_version(ref('stg_mes__equipment')) }} as e
),

specs as (
    -- business key equipment_type + parameter (+ equipment_id; blank = the whole type)
    select * from {{ latest_version(ref('stg_mes__process_specs')) }} as s
),

candidates as (
    select
        e.equipment_id,
        e.equipment_type,
        e.line,
        s.parameter,
        s.target,
        s.lsl,
        s.usl,
        case when s.equipment_id is not null then 'equipment' else 'equipment_type' end as spec_scope,
        row_number() over (
            partition by e.equipment_id, s.parameter
            order by case when s.equipment_id is not null then 0 else 1 end
        ) as _rank
    from equipment as e
    inner join specs as s
        on s.parameter is not null
        and (s.equipment_id is null or s.equipment_id = e.equipment_id)
        and (s.equipment_type = e.equipment_type
             or (s.equipment_type is null and e.equipment_type is null
                 and s.equipment_type_as_typed = e.equipment_type_as_typed))
)

select equipment_id, equipment_type, line, parameter, target, lsl, usl, spec_scope
from candidates
where _rank = 1
