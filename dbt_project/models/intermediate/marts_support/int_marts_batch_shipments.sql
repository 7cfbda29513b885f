{#- One row per (batch, shipment): the units of one batch that left on one shipment. -#}
select
    {{ dbt.concat(['s.batch_code', "'|'", 's.shipment_no']) }} as batch_shipment_key,
    s.batch_code,
    s.shipment_no,
    min(s.customer_code)        as customer_code,
    min(s.province_code)        as province_code,
    min(s.region)               as region,
    min(s.product_code)         as product_code,
    min(s.carrier)              as carrier,
    cast(sum(coalesce(s.qty, 0)) as {{ dbt.type_bigint() }}) as units,
    min(s.shipped_at)           as shipped_at,
    -- delivered when every line of the shipment was signed for (else in transit)
    case when count(s.delivered_at) = count(*) then max(s.delivered_at) end as delivered_at
from {{ latest_version(ref('stg_erp__shipments')) }} as s
where s.batch_code is not null
group by s.batch_code, s.shipment_no
