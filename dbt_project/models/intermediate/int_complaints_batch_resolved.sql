-- Distinct complaints with the batch behind them. Resolution order (trace_method):
--   'serial'     the serial number maps to a batch through MES serials;
--   'batch_code' else the typed batch code, conformed, names a known batch;
--   'none'       else no batch. A typed code matching no pattern stays NULL and flagged.
-- Never guessed: a code that conforms but names no known batch is not used (flag 'unknown_batch').
-- Only the serials complaints name are ranked (serial_no is the serials business key, so the
-- filter keeps or drops whole keys: the same rows as ranking every serial, then joining).
with serials as (
    select serial_no, min(batch_code) as batch_code, count(distinct batch_code) as batches
    from {{ latest_version(ref('stg_mes__serials'),
                           where="_lv.serial_no in (select serial_no from " ~ ref('int_complaints_deduplicated') ~ ")") }} as sn
    group by serial_no
),

known_batches as (
    select batch_code from {{ ref('int_batches_enriched') }}
)

select
    c.*,
    case
        when s.batches = 1 then s.batch_code
        when kb.batch_code is not null then kb.batch_code
    end as batch_code,
    case
        when s.batches = 1 then 'serial'
        when kb.batch_code is not null then 'batch_code'
        else 'none'
    end as trace_method,
    case
        when c.serial_no is null then null
        when s.batches = 1 then 'ok'
        when s.batches > 1 then 'ambiguous_serial'
        else 'unknown_serial'
    end as serial_flag,
    case
        when c.batch_code_flag = 'ok' and kb.batch_code is null then 'unknown_batch'
        else c.batch_code_flag
    end as batch_resolution_flag,
    case
        when s.batches = 1 and kb.batch_code is not null and kb.batch_code <> s.batch_code then true
        else false
    end as serial_batch_conflict
from {{ ref('int_complaints_deduplicated') }} as c
left join serials as s on s.serial_no = c.serial_no
left join known_batches as kb on kb.batch_code = c.batch_code_typed
