{#-
  Forward trace: one row per (suspect, affected batch, shipment). Suspects:
    batch        : the batch itself
    supplier_lot : a material lot (suspect_id = material lot; supplier_lot carries the
                   supplier's own lot number) -> the batches that consumed it
    supplier     : a supplier -> the batches that consumed any of its lots
    equipment    : a machine -> every batch produced on its line (had_excursion marks the
                   batches with an excursion on that machine)
    a combined suspect ranked in marts.suspect_ranking (suspect_kind line+shift, suspect_id
                   L03+night) -> the batches exposed to both parts (int_suspect_batch_exposure)
  A batch that never shipped has one row with shipment_no NULL and units_at_risk 0.
-#}
with batches as (
    select batch_code, product_code, product_model, line, batch_start, batch_end,
           units_produced, units_shipped
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
),
pair_exposure as (
    select suspect_kind, suspect_id, batch_code
    from {{ ref('int_suspect_batch_exposure') }}
),
ranked_pairs as (
    select distinct p.kind_a, p.id_a, p.kind_b, p.id_b
    from {{ ref('int_suspect_pair_counts') }} as p
    join {{ ref('suspect_ranking') }} as r
      on r.problem_type_code = p.problem_type_code
     and r.suspect_kind = {{ dbt.concat(["p.kind_a", "'+'", "p.kind_b"]) }}
     and r.suspect_id = {{ dbt.concat(["p.id_a", "'+'", "p.id_b"]) }}
    where r.rank is not null
),
pair_suspects as (
    select distinct
        {{ dbt.concat(["rp.kind_a", "'+'", "rp.kind_b"]) }} as suspect_kind,
        {{ dbt.concat(["rp.id_a", "'+'", "rp.id_b"]) }} as suspect_id,
        ea.batch_code
    from ranked_pairs as rp
    join pair_exposure as ea on ea.suspect_kind = rp.kind_a and ea.suspect_id = rp.id_a
    join pair_exposure as eb
      on eb.suspect_kind = rp.kind_b and eb.suspect_id = rp.id_b and eb.batch_code = ea.batch_code
),
all_suspects as (
    select suspect_kind, suspect_id, batch_code, supplier_lot, excursion_count from suspects
    union all
    select suspect_kind, suspect_id, batch_code, cast(null as {{ dbt.type_string() }}), 0
    from pair_suspects
),
shipments as (
    select * from {{ ref('int_marts_batch_shipments') }}
)
select
    {{ dbt.concat(["s.suspect_kind", "'|'", "s.suspect_id", "'|'", "s.batch_code", "'|'",
                   "coalesce(sh.shipment_no, '')"]) }} as forward_trace_key,
    s.suspect_kind,
    s.suspect_id,
    s.supplier_lot,
    s.batch_code,
    b.product_code,
    b.product_model,
    b.line,
    b.batch_start,
    b.batch_end,
    b.units_produced,
    {{ as_integer('s.excursion_count') }} as excursion_count,
    s.excursion_count > 0 as had_excursion,
    sh.shipment_no,
    sh.customer_code,
    sh.province_code,
    sh.region,
    sh.carrier,
    coalesce(sh.units, 0) as units_at_risk,
    sh.shipped_at,
    sh.delivered_at
from all_suspects as s
join batches as b on b.batch_code = s.batch_code
left join shipments as sh on sh.batch_code = s.batch_code
