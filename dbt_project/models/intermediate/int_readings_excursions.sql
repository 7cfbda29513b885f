-- Process readings outside the process window of their machine (after unit conversion),
-- attributed to every batch running on the machine's line at that moment (batch_code NULL
-- when nothing was running). Set-based: equi-join to the small spec table, filter, then a
-- range join of the few excursion rows to batches.
with outside as (
    select
        r.equipment_id,
        sp.equipment_type,
        sp.line,
        r.parameter,
        r.ts,
        r.value,
        r.value_as_delivered,
        r.unit as unit_as_delivered,
        sp.target,
        sp.lsl,
        sp.usl,
        sp.spec_scope,
        case when r.value < sp.lsl then 'below_lsl' else 'above_usl' end as direction,
        r._source_file,
        r._source_row
    from {{ latest_version(ref('stg_mes__process_readings')) }} as r
    inner join {{ ref('int_equipment_specs') }} as sp
        on sp.equipment_id = r.equipment_id
        and sp.parameter = r.parameter
    where r.value < sp.lsl or r.value > sp.usl
)

select
    o.*,
    b.batch_code
from outside as o
left join {{ ref('int_batches_enriched') }} as b
    on b.line = o.line
    and o.ts >= b.batch_start
    and o.ts <= b.batch_end
