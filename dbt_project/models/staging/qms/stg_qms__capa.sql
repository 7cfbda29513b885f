-- Valid QMS capa rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_qms__capa')) }},
    b.batch_ref as batch_code
from {{ ref('base_qms__capa') }} as b
where b._reject_reason is null
