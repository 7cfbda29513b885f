{#-
  Complaint and unit counts per (problem type, suspect), exposed vs. not exposed.
  Units are units shipped. Three populations, each compared only within itself:
    batch-level kinds (supplier_lot, supplier, equipment, line, shift, operator):
        units = units shipped of the batches (int_batches_enriched.units_shipped);
        complaints = distinct complaints resolved to one of those batches.
    carrier: units = units shipped by the carrier; complaints = complaints attributed to a
        shipment of their batch into their province (int_marts_complaint_shipment).
    product_model: units = all units shipped of the model; complaints = all complaints
        naming the model (no batch needed).
  Only suspects with at least one exposed complaint of the problem type have a row.
-#}
with complaints as (
    select complaint_id, problem_type_code, batch_code, product_model, region
    from {{ ref('int_complaints_batch_resolved') }}
    where problem_type_code is not null
),
batch_units as (
    select batch_code, product_model, coalesce(units_shipped, 0) as units
    from {{ ref('int_batches_enriched') }}
),
exposure as (
    select suspect_kind, suspect_id, batch_code
    from {{ ref('int_suspect_batch_exposure') }}
),
-- batch-level suspects ---------------------------------------------------------------
batch_population as (
    select sum(units) as units_total from batch_units
),
batch_complaints as (
    select c.problem_type_code, c.complaint_id, c.batch_code
    from complaints as c
    join batch_units as b on b.batch_code = c.batch_code
),
batch_complaint_totals as (
    select problem_type_code, count(distinct complaint_id) as complaints_total
    from batch_complaints
    group by problem_type_code
),
suspect_units as (
    select e.suspect_kind, e.suspect_id, sum(b.units) as units_exposed
    from exposure as e
    join batch_units as b on b.batch_code = e.batch_code
    group by e.suspect_kind, e.suspect_id
),
suspect_complaints as (
    select c.problem_type_code, e.suspect_kind, e.suspect_id,
           count(distinct c.complaint_id) as complaints_exposed
    from batch_complaints as c
    join exposure as e on e.batch_code = c.batch_code
    group by c.problem_type_code, e.suspect_kind, e.suspect_id
),
batch_level as (
    select
        sc.problem_type_code, sc.suspect_kind, sc.suspect_id,
        sc.complaints_exposed,
        su.units_exposed,
        t.complaints_total - sc.complaints_exposed as complaints_unexposed,
        p.units_total - su.units_exposed as units_unexposed
    from suspect_complaints as sc
    join suspect_units as su
      on su.suspect_kind = sc.suspect_kind and su.suspect_id = sc.suspect_id
    join batch_complaint_totals as t on t.problem_type_code = sc.problem_type_code
    cross join batch_population as p
),
-- carriers ------------------------------------------------------------------------------
carrier_units as (
    select carrier, sum(units) as units_exposed
    from {{ ref('int_marts_batch_shipments') }}
    where carrier is not null
    group by carrier
),
carrier_population as (
    select sum(units_exposed) as units_total from carrier_units
),
carrier_complaints as (
    select c.problem_type_code, c.complaint_id, cs.carrier, c.region
    from complaints as c
    join {{ ref('int_marts_complaint_shipment') }} as cs on cs.complaint_id = c.complaint_id
    where cs.carrier is not null
),
carrier_regions as (
    -- where a carrier's complaints of a type concentrate: the region holding most of them,
    -- reported when it holds at least half
    select problem_type_code, carrier, region, complaints, share,
           row_number() over (partition by problem_type_code, carrier
                              order by complaints desc, region) as pick
    from (
        select problem_type_code, carrier, region, count(distinct complaint_id) as complaints,
               1.0 * count(distinct complaint_id)
                   / sum(count(distinct complaint_id)) over (partition by problem_type_code, carrier)
                   as share
        from carrier_complaints
        where region is not null
        group by problem_type_code, carrier, region
    ) as per_region
),
carrier_complaint_totals as (
    select problem_type_code, count(distinct complaint_id) as complaints_total
    from carrier_complaints
    group by problem_type_code
),
carrier_level as (
    select
        cc.problem_type_code, 'carrier' as suspect_kind, cc.carrier as suspect_id,
        count(distinct cc.complaint_id) as complaints_exposed,
        min(cu.units_exposed) as units_exposed,
        min(t.complaints_total) - count(distinct cc.complaint_id) as complaints_unexposed,
        min(p.units_total) - min(cu.units_exposed) as units_unexposed,
        min(cr.region) as region
    from carrier_complaints as cc
    join carrier_units as cu on cu.carrier = cc.carrier
    join carrier_complaint_totals as t on t.problem_type_code = cc.problem_type_code
    cross join carrier_population as p
    left join carrier_regions as cr
      on cr.problem_type_code = cc.problem_type_code and cr.carrier = cc.carrier
     and cr.pick = 1 and cr.share >= 0.5
    group by cc.problem_type_code, cc.carrier
),
-- product models ------------------------------------------------------------------------
model_units as (
    select product_model, sum(units) as units_exposed
    from batch_units
    where product_model is not null
    group by product_model
),
model_population as (
    select sum(units_exposed) as units_total from model_units
),
model_complaints as (
    select c.problem_type_code, c.complaint_id, c.product_model
    from complaints as c
    join model_units as m on m.product_model = c.product_model
),
model_complaint_totals as (
    select problem_type_code, count(distinct complaint_id) as complaints_total
    from model_complaints
    group by problem_type_code
),
model_level as (
    select
        mc.problem_type_code, 'product_model' as suspect_kind, mc.product_model as suspect_id,
        count(distinct mc.complaint_id) as complaints_exposed,
        min(mu.units_exposed) as units_exposed,
        min(t.complaints_total) - count(distinct mc.complaint_id) as complaints_unexposed,
        min(p.units_total) - min(mu.units_exposed) as units_unexposed
    from model_complaints as mc
    join model_units as mu on mu.product_model = mc.product_model
    join model_complaint_totals as t on t.problem_type_code = mc.problem_type_code
    cross join model_population as p
    group by mc.problem_type_code, mc.product_model
),
all_rows as (
    select problem_type_code, suspect_kind, suspect_id, complaints_exposed, units_exposed,
           complaints_unexposed, units_unexposed, cast(null as {{ dbt.type_string() }}) as region
    from batch_level
    union all
    select problem_type_code, suspect_kind, suspect_id, complaints_exposed, units_exposed,
           complaints_unexposed, units_unexposed, region
    from carrier_level
    union all
    select problem_type_code, suspect_kind, suspect_id, complaints_exposed, units_exposed,
           complaints_unexposed, units_unexposed, cast(null as {{ dbt.type_string() }})
    from model_level
)
select
    {{ dbt.concat(["problem_type_code", "'|'", "suspect_kind", "'|'", "suspect_id"]) }}
        as suspect_counts_key,
    problem_type_code,
    suspect_kind,
    suspect_id,
    cast(complaints_exposed as {{ dbt.type_bigint() }}) as complaints_exposed,
    cast(units_exposed as {{ dbt.type_bigint() }}) as units_exposed,
    cast(complaints_unexposed as {{ dbt.type_bigint() }}) as complaints_unexposed,
    cast(units_unexposed as {{ dbt.type_bigint() }}) as units_unexposed,
    region
from all_rows
