-- Excursions per batch, machine and parameter.
select
    batch_code,
    equipment_id,
    parameter,
    count(*) as excursion_count,
    min(ts) as first_ts,
    max(ts) as last_ts,
    min(value) as min_value,
    max(value) as max_value,
    min(lsl) as lsl,
    max(usl) as usl
from {{ ref('int_readings_excursions') }}
where batch_code is not null
group by batch_code, equipment_id, parameter
