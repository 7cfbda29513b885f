-- Process readings outside the process window of their machine (after unit conversion),
-- attributed to every batch running on the machine's line at that moment (batch_code NULL
-- when nothing was running). Set-based: equi-join to the small spec table, filter, then a
-- range join of the few excursion rows to batches.
-- Only the latest version of a reading counts (latest_version). Ranking every reading is the
-- expensive part, so it is done only for the readings whose business key
-- (equipment_id, ts, parameter) has at least one version outside the window: the latest
-- version of any other key cannot be outside either (the window depends only on
-- equipment_id and parameter, which are part of the key). Same rows as ranking everything.
with spec_readings as (
    select
        r.*,
        sp.equipment_type,
        sp.line,
        sp.target,
        sp.lsl,
        sp.usl,
        sp.spec_scope
    from {{ ref('stg_mes__process_readings') }} as r
    inner join {{ ref('int_equipment_specs') }} as sp
        on sp.equipment_id = r.equipment_id
        and sp.parameter = r.parameter
),

candidate_keys as (
    select distinct equipment_id, ts, parameter
    from spec_readings
    where value < lsl or value > usl
),

-- every version of the candidate keys, under the staging model's own name so that
-- latest_version ranks it exactly as it ranks stg_mes__process_readings
stg_mes__process_readings as (
    select r.*
    from spec_readings as r
    inner join candidate_keys as k
        on k.equipment_id = r.equipment_id
        and k.ts = r.ts
        and k.parameter = r.parameter
),

outside as (
    select
        r.equipment_id,
        r.equipment_type,
        r.line,
        r.parameter,
        r.ts,
        r.value,
        r.value_as_delivered,
        r.unit as unit_as_delivered,
        r.target,
        r.lsl,
        r.usl,
        r.spec_scope,
        case when r.value < r.lsl then 'below_lsl' else 'above_usl' end as direction,
        r._source_file,
        r._source_row
    from {{ latest_version('stg_mes__process_readings') }} as r
    where r.value < r.lsl or r.value > r.usl
)

select
    o.*,
    b.batch_code
from outside as o
left join {{ ref('int_batches_enriched') }} as b
    on b.line = o.line
    and o.ts >= b.batch_start
    and o.ts <= b.batch_end
