{#-
  The shipment a complaint's unit most likely travelled on: a shipment of the complaint's
  batch into the complaint's province, the latest one shipped before the complaint was
  received (else the earliest after). Complaints without a batch or a matching shipment
  have no row.
-#}
with candidates as (
    select
        c.complaint_id,
        bs.shipment_no,
        bs.carrier,
        bs.customer_code,
        bs.shipped_at,
        row_number() over (
            partition by c.complaint_id
            order by
                case when bs.shipped_at <= c.received_at then 0 else 1 end,
                case when bs.shipped_at <= c.received_at then bs.shipped_at end desc,
                bs.shipped_at,
                bs.shipment_no
        ) as pick
    from {{ ref('int_complaints_batch_resolved') }} as c
    join {{ ref('int_marts_batch_shipments') }} as bs
      on bs.batch_code = c.batch_code
     and bs.province_code = c.province_code
    where c.batch_code is not null
)
select complaint_id, shipment_no, carrier, customer_code, shipped_at
from candidates
where pick = 1
