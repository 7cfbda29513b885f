-- Valid MES equipment rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_mes__equipment')) }}
from {{ ref('base_mes__equipment') }} as b
where b._reject_reason is null
