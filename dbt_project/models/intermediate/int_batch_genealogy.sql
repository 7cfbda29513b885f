-- Batch <- material lots <- supplier lots and suppliers: one row per batch and material lot
-- consumed, with the receipt that brought the lot in (qty consumed in the canonical unit).
with consumption as (
    select batch_code, material_code, material_lot, sum(qty) as qty
    from {{ latest_version(ref('stg_mes__material_consumption')) }} as mc
    group by batch_code, material_code, material_lot
),

lots as (
    -- a material lot comes from one supplier lot; keep the first receipt line if repeated
    select material_lot, material_code, supplier_code, supplier_lot, received_at, receipt_no
    from (
        select
            r.*,
            row_number() over (
                partition by r.material_lot order by r.received_at, r.receipt_no, r.line_no
            ) as _rank
        from {{ latest_version(ref('stg_erp__purchase_receipts')) }} as r
    ) as ranked
    where _rank = 1
)

select
    c.batch_code,
    coalesce(c.material_code, l.material_code) as material_code,
    c.material_lot,
    l.supplier_code,
    l.supplier_lot,
    l.receipt_no,
    l.received_at as lot_received_at,
    c.qty
from consumption as c
left join lots as l on l.material_lot = c.material_lot
