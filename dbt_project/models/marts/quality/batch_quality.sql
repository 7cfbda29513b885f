{#-
  One row per batch: output, shipments, complaints, inspections, excursions.
  complaint_ppm = complaints per million units shipped (NULL when nothing shipped).
  risk_score (0-100) = 50 * min(1, complaint_ppm / (3 * plant complaint ppm))
                     + 25 if any inspection failed + 25 if any process excursion.
-#}
with batches as (
    select * from {{ ref('int_batches_enriched') }}
),
facts as (
    select * from {{ ref('int_marts_batch_facts') }}
),
joined as (
    select
        b.batch_code,
        b.product_code,
        b.product_model,
        b.work_order_no,
        b.line,
        b.shift,
        b.operator_id,
        b.batch_start,
        b.batch_end,
        coalesce(b.units_produced, 0) as units_produced,
        b.units_good,
        coalesce(b.units_shipped, 0) as units_shipped,
        coalesce(f.complaints, 0) as complaints,
        coalesce(f.inspections, 0) as inspections,
        coalesce(f.inspection_failures, 0) as inspection_failures,
        f.fqc_passed,
        coalesce(f.excursion_count, 0) as excursion_count,
        f.excursion_equipment_ids,
        f.excursion_summary,
        f.material_lots,
        f.supplier_codes
    from batches as b
    left join facts as f on f.batch_code = b.batch_code
),
plant as (
    select
        case when sum(units_shipped) > 0
             then 1000000.0 * sum(complaints) / sum(units_shipped) end as plant_ppm
    from joined
),
scored as (
    select
        j.*,
        case when j.units_shipped > 0
             then 1000000.0 * j.complaints / j.units_shipped end as complaint_ppm,
        p.plant_ppm
    from joined as j
    cross join plant as p
)
select
    batch_code, product_code, product_model, work_order_no, line, shift, operator_id,
    batch_start, batch_end, units_produced, units_good,
    {{ as_integer('units_shipped') }} as units_shipped, complaints,
    complaint_ppm, inspections, {{ as_integer('inspection_failures') }} as inspection_failures,
    fqc_passed, {{ as_integer('excursion_count') }} as excursion_count,
    excursion_equipment_ids, excursion_summary, material_lots, supplier_codes,
    round(
        50.0 * case
            when complaint_ppm is null or plant_ppm is null or plant_ppm = 0 then 0
            when complaint_ppm >= 3 * plant_ppm then 1
            else complaint_ppm / (3 * plant_ppm)
        end
        + case when inspection_failures > 0 then 25 else 0 end
        + case when excursion_count > 0 then 25 else 0 end
    , 1) as risk_score
from scored
