{#-
  Weekly complaints per dimension value, against units shipped that week.
    dimension 'all' (value 'all'), 'product_model', 'region', 'problem_type'.
  week = Monday of the ISO week of received_at (shipments: of shipped_at).
  rate = complaints / units shipped that week (NULL when nothing shipped); rate_ppm = * 1e6.
  expected_complaints:
    - region: the national rate of the same week x the region's units shipped that week
      (is_spike = the region runs several times the national rate);
    - any other dimension: the value's own rate over the whole history (baseline_rate) x
      recent_units, the mean weekly units shipped over this week and the 3 before (complaints
      lag shipments, so one quiet shipping week does not make a spike).
  is_spike: complaints >= var('trend_spike_min_complaints', 5) and
            complaints >= var('trend_spike_factor', 3) x expected.
-#}
{%- set min_complaints = var('trend_spike_min_complaints', 5) -%}
{%- set factor = var('trend_spike_factor', 3) -%}
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
all_units as (
    select week, units_shipped from unit_counts where dimension = 'all'
),
cells as (
    select
        cc.week, cc.dimension, cc.value, cc.complaints,
        coalesce(case when cc.dimension = 'problem_type' then au.units_shipped
                      else uc.units_shipped end, 0) as units_shipped
    from complaint_counts as cc
    left join unit_counts as uc
      on uc.week = cc.week and uc.dimension = cc.dimension and uc.value = cc.value
    left join all_units as au on au.week = cc.week
),
-- units in the field recently: mean weekly units shipped over this week and the 3 before
recent_units as (
    select
        c.week, c.dimension, c.value,
        sum(case when c.dimension = 'problem_type' then 0 else coalesce(u.units_shipped, 0) end)
            / 4.0 as recent_units,
        sum(case when c.dimension = 'problem_type' then coalesce(a.units_shipped, 0) else 0 end)
            / 4.0 as recent_units_all
    from cells as c
    left join unit_counts as u
      on c.dimension <> 'problem_type'
     and u.dimension = c.dimension and u.value = c.value
     and u.week > {{ dbt.dateadd('day', -28, 'c.week') }} and u.week <= c.week
    left join all_units as a
      on c.dimension = 'problem_type'
     and a.week > {{ dbt.dateadd('day', -28, 'c.week') }} and a.week <= c.week
    group by c.week, c.dimension, c.value
),
rated as (
    select
        c.*,
        case when c.dimension = 'problem_type' then r.recent_units_all
             else r.recent_units end as recent_units,
        case when c.units_shipped > 0 then 1.0 * c.complaints / c.units_shipped end as rate
    from cells as c
    join recent_units as r
      on r.week = c.week and r.dimension = c.dimension and r.value = c.value
),
baselines as (
    -- the value's long-run rate: all its complaints / all its units shipped, every week
    select c.dimension, c.value,
           case when max(u.units_total) > 0
                then 1.0 * sum(c.complaints) / max(u.units_total) end as baseline_rate
    from complaint_counts as c
    left join (
        select dimension, value, sum(units_shipped) as units_total
        from unit_counts group by dimension, value
        union all
        select 'problem_type' as dimension, p.value, a.units_total
        from (select distinct value from complaint_counts where dimension = 'problem_type') as p
        cross join (select sum(units_shipped) as units_total from all_units) as a
    ) as u on u.dimension = c.dimension and u.value = c.value
    group by c.dimension, c.value
),
national as (
    select week, complaints as national_complaints, units_shipped as national_units,
           rate as national_rate
    from rated where dimension = 'all'
),
expected as (
    select
        r.*,
        case when r.dimension = 'region' then n.national_rate
             else b.baseline_rate end as baseline_rate,
        case when r.dimension = 'region' then n.national_rate * r.units_shipped
             else b.baseline_rate * r.recent_units end as expected_complaints
    from rated as r
    left join baselines as b on b.dimension = r.dimension and b.value = r.value
    left join national as n on n.week = r.week
)
select
    {{ dbt.concat(["cast(week as " ~ dbt.type_string() ~ ")", "'|'", "dimension", "'|'", "value"]) }}
        as complaint_trend_key,
    week,
    dimension,
    value,
    complaints,
    units_shipped,
    rate,
    rate * 1000000 as rate_ppm,
    baseline_rate,
    recent_units,
    expected_complaints,
    coalesce(
        complaints >= {{ min_complaints }}
        and expected_complaints is not null
        and complaints >= {{ factor }} * expected_complaints,
        false
    ) as is_spike
from expected
