-- One row per production batch (MES is the record of what ran), with its product, work
-- order and the units shipped. A batch delivered more than once: the latest delivery wins.
with batches as (
    select *
    from (
        select
            b.*,
            row_number() over (
                partition by b.batch_code
                order by {{ file_order_key('b._source_file') }} desc, b._source_row desc
            ) as _rank
        from {{ ref('stg_mes__production_batches') }} as b
    ) as ranked
    where _rank = 1
),

work_orders as (
    select *
    from (
        select
            w.*,
            row_number() over (
                partition by w.batch_code
                order by {{ file_order_key('w._source_file') }} desc, w._source_row desc
            ) as _rank
        from {{ ref('stg_erp__work_orders') }} as w
    ) as ranked
    where _rank = 1
),

products as (
    select *
    from (
        select
            p.*,
            row_number() over (
                partition by p.product_code
                order by {{ file_order_key('p._source_file') }} desc, p._source_row desc
            ) as _rank
        from {{ ref('stg_erp__products') }} as p
    ) as ranked
    where _rank = 1
),

shipped as (
    select batch_code, sum(qty) as units_shipped, count(*) as shipment_lines
    from {{ ref('stg_erp__shipments') }}
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
