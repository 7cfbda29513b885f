{#- QMS inspections of production batches (IPQC, FQC, OQC): batch_code, type, passed. -#}
select
    inspection_id,
    batch_code,
    inspection_type,
    passed,
    inspected_at
from {{ ref('stg_qms__inspections') }}
where inspection_type <> 'IQC'
  and batch_code is not null
