{#- QMS incoming inspections (IQC) of material lots: material_lot, passed. -#}
select
    inspection_id,
    material_lot,
    passed,
    inspected_at
from {{ ref('stg_qms__inspections') }}
where inspection_type = 'IQC'
  and material_lot is not null
