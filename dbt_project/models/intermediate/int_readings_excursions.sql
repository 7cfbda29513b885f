-- Process readings outside the process window of their machine (int_readings_outside: the
-- latest version of each reading, kept per hour), attributed to every batch running on the
-- machine's line at that moment (batch_code NULL when nothing was running): a range join of
-- the few excursion rows to batches, done again on every run (batches change with a new day).
select
    o.equipment_id,
    o.equipment_type,
    o.line,
    o.parameter,
    o.ts,
    o.value,
    o.value_as_delivered,
    o.unit_as_delivered,
    o.target,
    o.lsl,
    o.usl,
    o.spec_scope,
    o.direction,
    o._source_file,
    o._source_row,
    b.batch_code
from {{ ref('int_readings_outside') }} as o
left join {{ ref('int_batches_enriched') }} as b
    on b.line = o.line
    and o.ts >= b.batch_start
    and o.ts <= b.batch_end
where o.direction is not null
