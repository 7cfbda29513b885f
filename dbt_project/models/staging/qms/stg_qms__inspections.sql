-- Valid QMS inspections rows (no reject reason), typed and conformed.
select
    {{ star_except('b', ['_reject_reason', '_reject_detail', '_raw_record'], ref('base_qms__inspections')) }},
    b.lot_batch_code as batch_code, case when b.inspection_type = 'IQC' then b.lot_ref end as material_lot, b.result as passed
from {{ ref('base_qms__inspections') }} as b
where b._reject_reason is null
