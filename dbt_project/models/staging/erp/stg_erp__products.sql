-- Valid ERP products rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_erp__products')) }}
from {{ ref('base_erp__products') }} as b
where b._reject_reason is null
