{#-
  Weekly complaints per dimension value, against units shipped.
    dimension 'all' (value 'all'), 'product_model', 'region', 'problem_type'.
  week = Monday of received_at's week (for shipments, of shipped_at).
  units_shipped = units shipped that week (for problem types: all units); rate =
  complaints / units_shipped (NULL when nothing shipped that week).
  Complaints lag shipments by weeks, so spikes are judged against units in the field:
  field_units = units shipped in the 12 weeks up to and including the week.
    - region: expected = the week's national complaints x the region's share of the
      national field_units (a region running several times the national rate);
    - any other value: expected = its long-run rate (all its complaints / the sum of its
      field_units over every week) x its field_units this week.
  is_spike: complaints >= var('trend_spike_min_complaints', 5) and
            complaints >= var('trend_spike_factor', 3) x expected_complaints.
-#}
{%- set min_complaints = var('trend_spike_min_complaints', 5) -%}
{%- set factor = var('trend_spike_factor', 3) -%}
{%- set field_weeks = var('trend_field_weeks', 12) -%}
with complaints as (
    select
        c.complaint_id,
        cast({{ dbt.date_trunc('week', 'c.received_at') }} as date) as week,
        c.product_model,
        c.region,
        coalesce(c.problem_type_code, 'UNCLASSIFIED') as problem_type_code
    from {{ ref('int_complaints_batch_resolved') }} as c
    where c.received_at is not null
),
shipments as (
    select
        cast({{ dbt.date_trunc('week', 's.shipped_at') }} as date) as week,
        b.product_model,
        s.region,
        s.units
    from {{ ref('int_marts_batch_shipments') }} as s
    left join {{ ref('int_batches_enriched') }} as b on b.batch_code = s.batch_code
    where s.shipped_at is not null
),
complaint_counts as (
    select week, 'all' as dimension, 'all' as value, count(*) as complaints
    from complaints group by week
    union all
    select week, 'product_model', product_model, count(*)
    from complaints where product_model is not null group by week, product_model
    union all
    select week, 'region', region, count(*)
    from complaints where region is not null group by week, region
    union all
    select week, 'problem_type', problem_type_code, count(*)
    from complaints group by week, problem_type_code
),
unit_counts as (
    select week, 'all' as dimension, 'all' as value, sum(units) as units_shipped
    from shipments group by week
    union all
    select week, 'product_model', product_model, sum(units)
    from shipments where product_model is not null group by week, product_model
    union all
    select week, 'region', region, sum(units)
    from shipments where region is not null group by week, region
),
-- problem types are measured against all units
unit_source as (
    select week, dimension, value, units_shipped from unit_counts
    union all
    select u.week, 'problem_type', p.value, u.units_shipped
    from unit_counts as u
    cross join (select distinct value from complaint_counts
                where dimension = 'problem_type') as p
    where u.dimension = 'all'
),
weeks as (
    select week from complaint_counts
    union
    select week from unit_counts
),
series as (
    select distinct dimension, value from complaint_counts
),
grid as (
    select w.week, s.dimension, s.value
    from weeks as w
    cross join series as s
),
field as (
    select
        g.week, g.dimension, g.value,
        coalesce(sum(u.units_shipped), 0) as field_units,
        coalesce(sum(case when u.week = g.week then u.units_shipped end), 0) as units_shipped
    from grid as g
    left join unit_source as u
      on u.dimension = g.dimension and u.value = g.value
     and u.week <= g.week
     and u.week > {{ dbt.dateadd('day', -7 * field_weeks, 'g.week') }}
    group by g.week, g.dimension, g.value
),
cells as (
    select
        f.week, f.dimension, f.value, f.units_shipped, f.field_units,
        coalesce(c.complaints, 0) as complaints
    from field as f
    left join complaint_counts as c
      on c.week = f.week and c.dimension = f.dimension and c.value = f.value
),
baselines as (
    select dimension, value,
           case when sum(field_units) > 0
                then 1.0 * sum(complaints) / sum(field_units) end as baseline_rate
    from cells
    group by dimension, value
),
national as (
    select week, complaints as national_complaints, field_units as national_field_units
    from cells where dimension = 'all'
),
expected as (
    select
        c.*,
        case when c.dimension = 'region'
             then case when n.national_field_units > 0
                       then 1.0 * n.national_complaints / n.national_field_units end
             else b.baseline_rate end as baseline_rate,
        case when c.dimension = 'region'
             then case when n.national_field_units > 0
                       then 1.0 * n.national_complaints * c.field_units / n.national_field_units
                  end
             else b.baseline_rate * c.field_units end as expected_complaints
    from cells as c
    left join baselines as b on b.dimension = c.dimension and b.value = c.value
    left join national as n on n.week = c.week
    where c.complaints > 0
)
select
    {{ dbt.concat(["cast(week as " ~ dbt.type_string() ~ ")", "'|'", "dimension", "'|'", "value"]) }}
        as complaint_trend_key,
    week,
    dimension,
    value,
    complaints,
    {{ as_integer('units_shipped') }} as units_shipped,
    case when units_shipped > 0 then 1.0 * complaints / units_shipped end as rate,
    case when units_shipped > 0 then 1000000.0 * complaints / units_shipped end as rate_ppm,
    {{ as_integer('field_units') }} as field_units,
    baseline_rate,
    expected_complaints,
    coalesce(
        complaints >= {{ min_complaints }}
        and expected_complaints > 0
        and complaints >= {{ factor }} * expected_complaints,
        false
    ) as is_spike
from expected
