-- Valid CRM complaints rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_crm__complaints')) }},
    b.province as province_code, b.province_region as region
from {{ ref('base_crm__complaints') }} as b
where b._reject_reason is null
