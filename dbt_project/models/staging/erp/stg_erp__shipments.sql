-- Valid ERP shipments rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_erp__shipments')) }},
    b.batch_no as batch_code, b.province as province_code, b.province_region as region
from {{ ref('base_erp__shipments') }} as b
where b._reject_reason is null
