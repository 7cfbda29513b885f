{#-
  The rows of marts.forward_trace for single suspects: one row per (suspect, affected batch,
  shipment) for
    batch        : the batch itself
    supplier_lot : a material lot (suspect_id = material lot; supplier_lot carries the
                   supplier's own lot number) -> the batches that consumed it
    supplier     : a supplier -> the batches that consumed any of its lots
    equipment    : a machine -> every batch produced on its line (had_excursion marks the
                   batches with an excursion on that machine)
  A batch that never shipped has one row with shipment_no NULL and units_at_risk 0.
  Nothing here reads complaints: a new complaint leaves these rows as they are
  (forward_trace is this table and int_forward_trace_pair_suspects, unioned).
-#}
with batches as (
    select batch_code, product_code, product_model, line, batch_start, batch_end,
           units_produced
    from {{ ref('int_batches_enriched') }}
),
genealogy as (
    select batch_code, material_lot, supplier_code, supplier_lot
    from {{ ref('int_batch_genealogy') }}
    where batch_code is not null
),
excursions as (
    select batch_code, equipment_id, sum(excursion_count) as excursion_count
    from {{ ref('int_batch_excursions') }}
    group by batch_code, equipment_id
),
suspects as (
    select 'batch' as suspect_kind, batch_code as suspect_id, batch_code,
           cast(null as {{ dbt.type_string() }}) as supplier_lot, 0 as excursion_count
    from batches
    union all
    select 'supplier_lot', material_lot, batch_code, min(supplier_lot), 0
    from genealogy where material_lot is not null
    group by material_lot, batch_code
    union all
    select distinct 'supplier', supplier_code, batch_code, cast(null as {{ dbt.type_string() }}), 0
    from genealogy where supplier_code is not null
    union all
    select 'equipment', e.equipment_id, b.batch_code, cast(null as {{ dbt.type_string() }}),
           coalesce(x.excursion_count, 0)
    from (select distinct equipment_id, line from {{ latest_version(ref('stg_mes__equipment')) }} as eq
          where equipment_id is not null) as e
    join batches as b on b.line = e.line
    left join excursions as x on x.batch_code = b.batch_code and x.equipment_id = e.equipment_id
)
{{ forward_trace_rows('suspects', ref('int_batches_enriched'), ref('int_marts_batch_shipments')) }}
