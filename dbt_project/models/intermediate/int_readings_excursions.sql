-- Process readings outside the process window of their machine (int_readings_outside: the
-- latest version of each reading, kept per day), attributed to every batch running on the
-- machine's line at that moment (batch_code NULL when nothing was running): a range join of
-- the few excursion rows to batches, done again on every run (batches change with a new day).
select
    {{ star_except('o', ['reading_day', '_inputs_hash'], ref('int_readings_outside')) }},
    b.batch_code
from {{ ref('int_readings_outside') }} as o
left join {{ ref('int_batches_enriched') }} as b
    on b.line = o.line
    and o.ts >= b.batch_start
    and o.ts <= b.batch_end
where o.direction is not null
