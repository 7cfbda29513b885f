-- One row per production batch (MES is the record of what ran), with its product, work
-- order and the units shipped. Every entity is read at its latest version per business key
-- (latest_version: a re-delivered batch, product or shipment line supersedes the earlier one).
with batches as (
    select * from {{ latest_version(ref('stg_mes__production_batches')) }} as b
),

work_orders as (
    -- latest version per work order, then one work order per batch (the latest delivered)
    select * from {{ latest_version(ref('stg_erp__work_orders'), key_columns=['batch_code']) }} as w
),

products as (
    select * from {{ latest_version(ref('stg_erp__products')) }} as p
),

shipped as (
    select batch_code, sum(qty) as units_shipped, count(*) as shipment_lines
    from {{ latest_version(ref('stg_erp__shipments')) }} as s
    group by batch_code
)

select
    b.batch_code,
    b.product_code,
    p.model as product_model,
    p.product_line,
    coalesce(b.work_order_no, w.work_order_no) as work_order_no,
    coalesce(b.line, w.line) as line,
    b.shift,
    b.shift_as_typed as shift_raw,
    b.operator_id,
    b.start_time as batch_start,
    b.end_time as batch_end,
    b.qty_produced as units_produced,
    b.qty_good as units_good,
    w.planned_qty as units_planned,
    coalesce(s.units_shipped, 0) as units_shipped,
    coalesce(s.shipment_lines, 0) as shipment_lines
from batches as b
left join work_orders as w on w.batch_code = b.batch_code
left join products as p on p.product_code = b.product_code
left join shipped as s on s.batch_code = b.batch_code
