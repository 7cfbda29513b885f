-- Valid MES material_consumption rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_mes__material_consumption')) }},
    b.batch as batch_code
from {{ ref('base_mes__material_consumption') }} as b
where b._reject_reason is null
