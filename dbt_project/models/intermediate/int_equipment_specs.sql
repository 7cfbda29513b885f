-- The process window that applies to each machine and parameter: a spec row naming the
-- machine wins over the spec row for its equipment type. Limits in canonical units.
with equipment as (
    select *
    from (
        select
            e.*,
            row_number() over (
                partition by e.equipment_id
                order by {{ file_order_key('e._source_file') }} desc, e._source_row desc
            ) as _rank
        from {{ ref('stg_mes__equipment') }} as e
    ) as ranked
    where _rank = 1
),

specs as (
    select *
    from (
        select
            s.*,
            row_number() over (
                partition by s.equipment_type, s.parameter, coalesce(s.equipment_id, '')
                order by {{ file_order_key('s._source_file') }} desc, s._source_row desc
            ) as _rank
        from {{ ref('stg_mes__process_specs') }} as s
    ) as ranked
    where _rank = 1
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
        on s.equipment_type = e.equipment_type
        and (s.equipment_id is null or s.equipment_id = e.equipment_id)
)

select equipment_id, equipment_type, line, parameter, target, lsl, usl, spec_scope
from candidates
where _rank = 1
