{#-
  One row per supplier: material lots received, IQC reject rate (failed IQC inspections /
  IQC inspections of its lots), batches that consumed its lots, and complaint_ppm = distinct
  complaints resolved to those batches per million units of them shipped.
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
supplied_batches as (
    select distinct supplier_code, batch_code from genealogy
),
outcome as (
    select sb.supplier_code,
           sum(coalesce(b.units_shipped, 0)) as units_shipped,
           sum(coalesce(f.complaints, 0)) as complaints
    from supplied_batches as sb
    join {{ ref('int_batches_enriched') }} as b on b.batch_code = sb.batch_code
    left join {{ ref('int_marts_batch_facts') }} as f on f.batch_code = sb.batch_code
    group by sb.supplier_code
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
    {{ as_integer('coalesce(o.units_shipped, 0)') }} as units_shipped,
    {{ as_integer('coalesce(o.complaints, 0)') }} as complaints,
    case when coalesce(o.units_shipped, 0) > 0
         then 1000000.0 * o.complaints / o.units_shipped end as complaint_ppm
from suppliers as s
left join (select supplier_code, min(supplier_name) as supplier_name
           from {{ latest_version(ref('stg_erp__suppliers')) }} as sp
           group by supplier_code) as sn on sn.supplier_code = s.supplier_code
left join received as r on r.supplier_code = s.supplier_code
left join iqc as q on q.supplier_code = s.supplier_code
left join supplied as p on p.supplier_code = s.supplier_code
left join outcome as o on o.supplier_code = s.supplier_code
