-- Valid QMS measurements rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_qms__measurements')) }}
from {{ ref('base_qms__measurements') }} as b
where b._reject_reason is null
