-- Valid MES process_readings rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_mes__process_readings')) }}
from {{ ref('base_mes__process_readings') }} as b
where b._reject_reason is null
