{#- QMS incoming inspections (IQC) of material lots: material_lot, passed. -#}
select
    inspection_id,
    material_lot,
    passed,
    inspected_at
from {{ latest_version(ref('stg_qms__inspections')) }} as i
where inspection_type = 'IQC'
  and material_lot is not null
