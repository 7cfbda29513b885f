{#-
  Per batch: what the marts say about it besides the batch itself. One row per batch in
  int_batches_enriched: complaints (distinct, resolved to the batch), inspection failures,
  FQC verdict, excursions, equipment on its line, material lots and suppliers consumed.
-#}
with batches as (
    select batch_code, line from {{ ref('int_batches_enriched') }}
),
complaints as (
    select batch_code, count(distinct complaint_id) as complaints
    from {{ ref('int_complaints_batch_resolved') }}
    where batch_code is not null
    group by batch_code
),
inspections as (
    select
        batch_code,
        sum(case when not passed then 1 else 0 end) as inspection_failures,
        count(*) as inspections,
        sum(case when inspection_type = 'FQC' then 1 else 0 end) as fqc_inspections,
        sum(case when inspection_type = 'FQC' and not passed then 1 else 0 end) as fqc_failures
    from {{ ref('int_marts_batch_inspections') }}
    group by batch_code
),
excursions as (
    select
        batch_code,
        sum(excursion_count) as excursion_count,
        {{ dbt.listagg('equipment_id', "','", 'order by equipment_id') }} as excursion_equipment_ids
    from (
        select batch_code, equipment_id, sum(excursion_count) as excursion_count
        from {{ ref('int_batch_excursions') }}
        where batch_code is not null
        group by batch_code, equipment_id
    ) as per_equipment
    group by batch_code
),
excursion_details as (
    select
        batch_code,
        {{ dbt.listagg('detail', "'; '", 'order by detail') }} as excursion_summary
    from (
        select
            batch_code,
            {{ dbt.concat(["equipment_id", "' '", "parameter", "' x'",
                           "cast(excursion_count as " ~ dbt.type_string() ~ ")"]) }} as detail
        from {{ ref('int_batch_excursions') }}
        where batch_code is not null and excursion_count > 0
    ) as d
    group by batch_code
),
line_equipment as (
    select
        line,
        {{ dbt.listagg('equipment_id', "','", 'order by equipment_id') }} as equipment_ids
    from (select distinct line, equipment_id from {{ latest_version(ref('stg_mes__equipment')) }} as eq
          where line is not null and equipment_id is not null) as e
    group by line
),
lots as (
    select
        batch_code,
        {{ dbt.listagg('material_lot', "','", 'order by material_lot') }} as material_lots
    from (select distinct batch_code, material_lot from {{ ref('int_batch_genealogy') }}
          where material_lot is not null) as g
    group by batch_code
),
suppliers as (
    select
        batch_code,
        {{ dbt.listagg('supplier_code', "','", 'order by supplier_code') }} as supplier_codes
    from (select distinct batch_code, supplier_code from {{ ref('int_batch_genealogy') }}
          where supplier_code is not null) as g
    group by batch_code
)
select
    b.batch_code,
    coalesce(c.complaints, 0)                 as complaints,
    coalesce(i.inspections, 0)                as inspections,
    coalesce(i.inspection_failures, 0)        as inspection_failures,
    case when coalesce(i.fqc_inspections, 0) = 0 then null
         else i.fqc_failures = 0 end          as fqc_passed,
    coalesce(x.excursion_count, 0)            as excursion_count,
    x.excursion_equipment_ids,
    xd.excursion_summary,
    le.equipment_ids,
    l.material_lots,
    s.supplier_codes
from batches as b
left join complaints as c on c.batch_code = b.batch_code
left join inspections as i on i.batch_code = b.batch_code
left join excursions as x on x.batch_code = b.batch_code
left join excursion_details as xd on xd.batch_code = b.batch_code
left join line_equipment as le on le.line = b.line
left join lots as l on l.batch_code = b.batch_code
left join suppliers as s on s.batch_code = b.batch_code
