-- Valid MES process_specs rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_mes__process_specs')) }}
from {{ ref('base_mes__process_specs') }} as b
where b._reject_reason is null
