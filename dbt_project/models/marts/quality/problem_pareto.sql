{#-
  Problem types per period, largest first: period is a calendar month 'YYYY-MM' of
  received_at, plus period 'all' over the whole history. share = complaints / all
  complaints of the period; cumulative_share accumulates in descending order.
-#}
with complaints as (
    select
        complaint_id,
        coalesce(problem_type_code, 'UNCLASSIFIED') as problem_type_code,
        substr(cast(cast({{ dbt.date_trunc('month', 'received_at') }} as date) as {{ dbt.type_string() }}), 1, 7) as month
    from {{ ref('int_complaints_batch_resolved') }}
    where received_at is not null
),
counts as (
    select month as period, problem_type_code, count(*) as complaints
    from complaints
    group by month, problem_type_code
    union all
    select 'all' as period, problem_type_code, count(*) as complaints
    from complaints
    group by problem_type_code
),
shares as (
    select
        period,
        problem_type_code,
        complaints,
        1.0 * complaints / sum(complaints) over (partition by period) as share,
        1.0 * sum(complaints) over (
            partition by period order by complaints desc, problem_type_code
            rows between unbounded preceding and current row
        ) / sum(complaints) over (partition by period) as cumulative_share,
        row_number() over (partition by period order by complaints desc, problem_type_code)
            as pareto_rank
    from counts
)
select
    {{ dbt.concat(["period", "'|'", "problem_type_code"]) }} as problem_pareto_key,
    period,
    problem_type_code,
    case when problem_type_code = 'UNCLASSIFIED' then null
         else substr(problem_type_code, 1, 2) end as problem_category,
    pt.problem_type_name_zh,
    pt.problem_type_name_en,
    complaints,
    share,
    cumulative_share,
    pareto_rank
from shares
left join {{ ref('stg_dictionary__problem_types') }} as pt using (problem_type_code)
