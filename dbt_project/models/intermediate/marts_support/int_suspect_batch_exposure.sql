{#-
  Which batches each batch-level suspect touched (one row per suspect_kind, suspect_id,
  batch_code):
    supplier_lot : batches that consumed the material lot
    supplier     : batches that consumed any lot of the supplier
    equipment    : batches with >= 1 process excursion on that equipment (not its whole line)
    line / shift / operator : batches produced on that line / shift / by that operator
-#}
with genealogy as (
    select distinct batch_code, material_lot, supplier_code
    from {{ ref('int_batch_genealogy') }}
    where batch_code is not null
),
batches as (
    select batch_code, line, shift, operator_id
    from {{ ref('int_batches_enriched') }}
),
exposure as (
    select distinct 'supplier_lot' as suspect_kind, material_lot as suspect_id, batch_code
    from genealogy where material_lot is not null
    union all
    select distinct 'supplier', supplier_code, batch_code
    from genealogy where supplier_code is not null
    union all
    select distinct 'equipment', equipment_id, batch_code
    from {{ ref('int_batch_excursions') }}
    where equipment_id is not null and batch_code is not null and excursion_count > 0
    union all
    select 'line', line, batch_code from batches where line is not null
    union all
    select 'shift', shift, batch_code from batches where shift is not null
    union all
    select 'operator', operator_id, batch_code from batches where operator_id is not null
)
select
    {{ dbt.concat(["suspect_kind", "'|'", "suspect_id", "'|'", "batch_code"]) }} as exposure_key,
    suspect_kind,
    suspect_id,
    batch_code
from exposure
