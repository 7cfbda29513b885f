{#- One row per distinct complaint, traced back to batch, line, machines, lots, suppliers. -#}
with complaints as (
    select * from {{ ref('int_complaints_batch_resolved') }}
),
batches as (
    select * from {{ ref('int_batches_enriched') }}
),
facts as (
    select * from {{ ref('int_marts_batch_facts') }}
),
shipment as (
    select * from {{ ref('int_marts_complaint_shipment') }}
),
model_products as (
    -- a model sold as exactly one product code names that product
    select model, min(product_code) as product_code
    from {{ latest_version(ref('stg_erp__products')) }} as pr
    where model is not null
    group by model
    having count(distinct product_code) = 1
)
select
    c.complaint_id,
    c.duplicate_ids,
    {{ id_list('c.duplicate_ids') }} as duplicate_ids_list,
    c.received_at,
    c.status,
    c.status_raw,
    c.province_code,
    pv.province_name,
    c.region,
    coalesce(b.product_code, mp.product_code)       as product_code,
    coalesce(c.product_model, b.product_model)      as product_model,
    c.problem_type_code,
    pt.problem_type_name_zh,
    pt.problem_type_name_en,
    c.problem_category,
    c.secondary_problem_codes,
    c.problem_evidence,
    c.severity,
    b.batch_code,
    c.trace_method,
    c.batch_code_typed,
    c.batch_code_flag,
    b.line,
    b.shift,
    b.shift_raw,
    b.operator_id,
    b.work_order_no,
    b.batch_start,
    b.batch_end,
    f.equipment_ids,
    {{ id_list('f.equipment_ids') }} as equipment_ids_list,
    {{ as_integer('coalesce(f.excursion_count, 0)') }} as excursion_count,
    f.excursion_equipment_ids,
    {{ id_list('f.excursion_equipment_ids') }} as excursion_equipment_ids_list,
    f.excursion_summary,
    f.material_lots,
    {{ id_list('f.material_lots') }} as material_lots_list,
    f.supplier_codes,
    {{ id_list('f.supplier_codes') }} as supplier_codes_list,
    f.fqc_passed,
    {{ as_integer('f.inspection_failures') }} as inspection_failures,
    f.complaints                                    as batch_complaints,
    s.shipment_no,
    s.carrier,
    s.shipped_at,
    c.customer_key
from complaints as c
left join batches as b on b.batch_code = c.batch_code
left join facts as f on f.batch_code = c.batch_code
left join shipment as s on s.complaint_id = c.complaint_id
left join model_products as mp on mp.model = c.product_model
left join {{ ref('stg_dictionary__provinces') }} as pv on pv.province_code = c.province_code
left join {{ ref('stg_dictionary__problem_types') }} as pt
  on pt.problem_type_code = c.problem_type_code
