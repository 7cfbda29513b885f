-- Valid ERP work_orders rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_erp__work_orders')) }},
    b.batch_no as batch_code
from {{ ref('base_erp__work_orders') }} as b
where b._reject_reason is null
