{#-
  Candidate combined suspects: pairs of batch-level suspects of different kinds (line x shift,
  equipment x supplier lot, ...) for one problem type, each part already carrying at least
  var('suspect_min_support', 3) exposed complaints of the type (int_suspect_counts). For each
  pair the units shipped and the complaints of the type are split into the three cells the
  ranking needs to judge whether the pair explains more than either part alone:
    both   : batches exposed to A and to B
    a_only : batches exposed to A, not to B
    b_only : batches exposed to B, not to A
  plus the totals of the batch population. Kinds are ordered (line, shift, equipment,
  operator, supplier_lot, supplier) so a pair has one name (`line+shift`); a lot and its own
  supplier are nested, never a pair. Only pairs with complaints_both >= the minimum support
  are kept. marts.suspect_ranking keeps a pair when it is significant within each part
  (stratified Fisher tests), see its description.
-#}
{%- set min_support = var('suspect_min_support', 3) -%}
{%- set kind_order -%}
    case suspect_kind when 'line' then 1 when 'shift' then 2 when 'equipment' then 3
         when 'operator' then 4 when 'supplier_lot' then 5 when 'supplier' then 6 end
{%- endset -%}
with parts as (
    select problem_type_code, suspect_kind, suspect_id, {{ kind_order }} as kind_rank
    from {{ ref('int_suspect_counts') }}
    where suspect_kind in ('line', 'shift', 'equipment', 'operator', 'supplier_lot', 'supplier')
      and complaints_exposed >= {{ min_support }}
),
candidate_pairs as (
    select a.problem_type_code,
           a.suspect_kind as kind_a, a.suspect_id as id_a,
           b.suspect_kind as kind_b, b.suspect_id as id_b
    from parts as a
    join parts as b
      on b.problem_type_code = a.problem_type_code
     and b.kind_rank > a.kind_rank
     and not (a.suspect_kind = 'supplier_lot' and b.suspect_kind = 'supplier')
),
exposure as (
    select suspect_kind, suspect_id, batch_code
    from {{ ref('int_suspect_batch_exposure') }}
),
batch_units as (
    select batch_code, coalesce(units_shipped, 0) as units
    from {{ ref('int_batches_enriched') }}
),
batch_complaints as (
    -- a complaint resolves to one batch, so complaints add up across batches
    select c.problem_type_code, c.batch_code, count(distinct c.complaint_id) as complaints
    from {{ ref('int_complaints_batch_resolved') }} as c
    join batch_units as b on b.batch_code = c.batch_code
    where c.problem_type_code is not null
    group by c.problem_type_code, c.batch_code
),
totals as (
    select problem_type_code, sum(complaints) as complaints_total
    from batch_complaints
    group by problem_type_code
),
population as (
    select sum(units) as units_total from batch_units
),
a_side as (
    select p.problem_type_code, p.kind_a, p.id_a, p.kind_b, p.id_b, ea.batch_code,
           case when eb.batch_code is null then 'a_only' else 'both' end as cell
    from candidate_pairs as p
    join exposure as ea on ea.suspect_kind = p.kind_a and ea.suspect_id = p.id_a
    left join exposure as eb
      on eb.suspect_kind = p.kind_b and eb.suspect_id = p.id_b and eb.batch_code = ea.batch_code
),
b_side as (
    select p.problem_type_code, p.kind_a, p.id_a, p.kind_b, p.id_b, eb.batch_code,
           'b_only' as cell
    from candidate_pairs as p
    join exposure as eb on eb.suspect_kind = p.kind_b and eb.suspect_id = p.id_b
    left join exposure as ea
      on ea.suspect_kind = p.kind_a and ea.suspect_id = p.id_a and ea.batch_code = eb.batch_code
    where ea.batch_code is null
),
cells as (
    select * from a_side
    union all
    select * from b_side
),
pair_cells as (
    select
        c.problem_type_code, c.kind_a, c.id_a, c.kind_b, c.id_b,
        sum(case when c.cell = 'both' then coalesce(bc.complaints, 0) else 0 end) as complaints_both,
        sum(case when c.cell = 'both' then u.units else 0 end) as units_both,
        sum(case when c.cell = 'a_only' then coalesce(bc.complaints, 0) else 0 end) as complaints_a_only,
        sum(case when c.cell = 'a_only' then u.units else 0 end) as units_a_only,
        sum(case when c.cell = 'b_only' then coalesce(bc.complaints, 0) else 0 end) as complaints_b_only,
        sum(case when c.cell = 'b_only' then u.units else 0 end) as units_b_only
    from cells as c
    join batch_units as u on u.batch_code = c.batch_code
    left join batch_complaints as bc
      on bc.batch_code = c.batch_code and bc.problem_type_code = c.problem_type_code
    group by c.problem_type_code, c.kind_a, c.id_a, c.kind_b, c.id_b
)
select
    {{ dbt.concat(["pc.problem_type_code", "'|'", "pc.kind_a", "'+'", "pc.kind_b", "'|'",
                   "pc.id_a", "'+'", "pc.id_b"]) }} as pair_counts_key,
    pc.problem_type_code,
    pc.kind_a,
    pc.id_a,
    pc.kind_b,
    pc.id_b,
    cast(pc.complaints_both as {{ dbt.type_bigint() }}) as complaints_both,
    cast(pc.units_both as {{ dbt.type_bigint() }}) as units_both,
    cast(pc.complaints_a_only as {{ dbt.type_bigint() }}) as complaints_a_only,
    cast(pc.units_a_only as {{ dbt.type_bigint() }}) as units_a_only,
    cast(pc.complaints_b_only as {{ dbt.type_bigint() }}) as complaints_b_only,
    cast(pc.units_b_only as {{ dbt.type_bigint() }}) as units_b_only,
    cast(t.complaints_total as {{ dbt.type_bigint() }}) as complaints_total,
    cast(p.units_total as {{ dbt.type_bigint() }}) as units_total
from pair_cells as pc
join totals as t on t.problem_type_code = pc.problem_type_code
cross join population as p
where pc.complaints_both >= {{ min_support }}
