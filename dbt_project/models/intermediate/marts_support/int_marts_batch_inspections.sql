{#- QMS inspections of production batches (IPQC, FQC, OQC): batch_code, type, passed. -#}
select
    inspection_id,
    batch_code,
    inspection_type,
    passed,
    inspected_at
from {{ latest_version(ref('stg_qms__inspections')) }} as i
where inspection_type <> 'IQC'
  and batch_code is not null
