-- Valid MES serials rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_mes__serials')) }},
    b.batch as batch_code
from {{ ref('base_mes__serials') }} as b
where b._reject_reason is null
