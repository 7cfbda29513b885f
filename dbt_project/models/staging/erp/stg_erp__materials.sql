-- Valid ERP materials rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_erp__materials')) }}
from {{ ref('base_erp__materials') }} as b
where b._reject_reason is null
