{#-
  One row per supplier: material lots received, IQC reject rate (failed IQC inspections /
  IQC inspections of its lots), batches that consumed its lots, and complaints per million
  units shipped, attributed by exposure: a batch's complaints and shipped units count for a
  supplier in the share w of the batch's consumption of a material that came from the
  supplier's lots (w = 1 for the only supplier of the material in the batch, 0.5 when two
  suppliers' lots were mixed half and half). complaint_ppm = sum(w * complaints) /
  sum(w * units shipped) * 1e6, over every (batch, material) the supplier took part in.
  Beside it, the same rate of the batches that used other suppliers' lots of the same
  materials (alternatives_complaint_ppm, weights 1 - w) and their ratio
  (lift_vs_alternatives): a sole supplier of its materials has no alternative (NULL); a
  supplier whose lots cause complaints stands out against the others of its material even
  when every batch has some of its parts. worst_lot: its material lot with the highest
  complaint rate (at least 100 units shipped), the lot to look at first.
-#}
with receipts as (
    select supplier_code, material_lot
    from {{ latest_version(ref('stg_erp__purchase_receipts')) }} as pr
    where supplier_code is not null
),
genealogy as (
    select distinct supplier_code, material_lot, batch_code
    from {{ ref('int_batch_genealogy') }}
    where supplier_code is not null
),
suppliers as (
    select supplier_code from {{ latest_version(ref('stg_erp__suppliers')) }} as sp where supplier_code is not null
    union
    select supplier_code from receipts
    union
    select supplier_code from genealogy
),
supplier_lots as (
    select supplier_code, material_lot from receipts where material_lot is not null
    union
    select supplier_code, material_lot from genealogy where material_lot is not null
),
iqc as (
    select sl.supplier_code,
           count(*) as iqc_inspections,
           sum(case when not i.passed then 1 else 0 end) as iqc_rejects
    from {{ ref('int_marts_lot_inspections') }} as i
    join supplier_lots as sl on sl.material_lot = i.material_lot
    group by sl.supplier_code
),
received as (
    select supplier_code, count(distinct material_lot) as lots_received
    from receipts
    group by supplier_code
),
supplied as (
    select g.supplier_code,
           count(distinct g.batch_code) as batches_supplied
    from genealogy as g
    group by g.supplier_code
),
exposure as (
    -- w: the supplier's share of the batch's consumption of the material
    select g.batch_code, g.material_code, g.supplier_code,
           sum(g.qty) / nullif(sum(sum(g.qty)) over (
               partition by g.batch_code, g.material_code), 0) as w
    from {{ ref('int_batch_genealogy') }} as g
    where g.supplier_code is not null and g.qty > 0
    group by g.batch_code, g.material_code, g.supplier_code
),
batch_outcome as (
    select b.batch_code,
           coalesce(b.units_shipped, 0) as units_shipped,
           coalesce(f.complaints, 0) as complaints
    from {{ ref('int_batches_enriched') }} as b
    left join {{ ref('int_marts_batch_facts') }} as f on f.batch_code = b.batch_code
),
supplier_materials as (
    select distinct supplier_code, material_code from exposure
),
totals as (
    -- unweighted: every batch that used any of the supplier's lots, counted whole
    select sb.supplier_code, sum(o.units_shipped) as units_shipped,
           sum(o.complaints) as complaints
    from (select distinct supplier_code, batch_code from genealogy) as sb
    join batch_outcome as o on o.batch_code = sb.batch_code
    group by sb.supplier_code
),
outcome as (
    select e.supplier_code,
           sum(e.w * o.units_shipped) as units_weighted,
           sum(e.w * o.complaints) as complaints_weighted
    from exposure as e
    join batch_outcome as o on o.batch_code = e.batch_code
    group by e.supplier_code
),
alternatives as (
    -- batches' use of the same materials from other suppliers (weights 1 - w)
    select sm.supplier_code,
           sum((1 - coalesce(own.w, 0)) * o.units_shipped) as units_weighted,
           sum((1 - coalesce(own.w, 0)) * o.complaints) as complaints_weighted
    from supplier_materials as sm
    join (select distinct batch_code, material_code from exposure) as bm
        on bm.material_code = sm.material_code
    left join exposure as own
        on own.batch_code = bm.batch_code and own.material_code = bm.material_code
        and own.supplier_code = sm.supplier_code
    join batch_outcome as o on o.batch_code = bm.batch_code
    group by sm.supplier_code
),
lot_rates as (
    select g.supplier_code, g.material_lot,
           sum(o.units_shipped) as units_shipped,
           sum(o.complaints) as complaints
    from (select distinct supplier_code, material_lot, batch_code
          from {{ ref('int_batch_genealogy') }} where supplier_code is not null) as g
    join batch_outcome as o on o.batch_code = g.batch_code
    group by g.supplier_code, g.material_lot
),
worst_lots as (
    select supplier_code, material_lot as worst_lot,
           1000000.0 * complaints / units_shipped as worst_lot_complaint_ppm
    from (
        select lr.*, row_number() over (
            partition by lr.supplier_code
            order by 1.0 * lr.complaints / lr.units_shipped desc, lr.material_lot) as _rank
        from lot_rates as lr
        where lr.units_shipped >= 100
    ) as ranked
    where _rank = 1
)
select
    s.supplier_code,
    sn.supplier_name,
    coalesce(r.lots_received, 0) as lots_received,
    coalesce(q.iqc_inspections, 0) as iqc_inspections,
    {{ as_integer('coalesce(q.iqc_rejects, 0)') }} as iqc_rejects,
    case when coalesce(q.iqc_inspections, 0) > 0
         then 1.0 * q.iqc_rejects / q.iqc_inspections end as iqc_reject_rate,
    coalesce(p.batches_supplied, 0) as batches_supplied,
    {{ as_integer('coalesce(t.units_shipped, 0)') }} as units_shipped,
    {{ as_integer('coalesce(t.complaints, 0)') }} as complaints,
    o.units_weighted as units_shipped_weighted,
    o.complaints_weighted,
    case when coalesce(o.units_weighted, 0) > 0
         then 1000000.0 * o.complaints_weighted / o.units_weighted end as complaint_ppm,
    case when coalesce(a.units_weighted, 0) > 0
         then 1000000.0 * a.complaints_weighted / a.units_weighted end
        as alternatives_complaint_ppm,
    case when coalesce(a.units_weighted, 0) > 0 and a.complaints_weighted > 0
              and coalesce(o.units_weighted, 0) > 0
         then (o.complaints_weighted / o.units_weighted)
              / (a.complaints_weighted / a.units_weighted) end as lift_vs_alternatives,
    wl.worst_lot,
    wl.worst_lot_complaint_ppm
from suppliers as s
left join (select supplier_code, min(supplier_name) as supplier_name
           from {{ latest_version(ref('stg_erp__suppliers')) }} as sp
           group by supplier_code) as sn on sn.supplier_code = s.supplier_code
left join received as r on r.supplier_code = s.supplier_code
left join iqc as q on q.supplier_code = s.supplier_code
left join supplied as p on p.supplier_code = s.supplier_code
left join totals as t on t.supplier_code = s.supplier_code
left join outcome as o on o.supplier_code = s.supplier_code
left join alternatives as a on a.supplier_code = s.supplier_code
left join worst_lots as wl on wl.supplier_code = s.supplier_code
