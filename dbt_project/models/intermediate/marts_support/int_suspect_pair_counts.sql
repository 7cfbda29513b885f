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
  How: the batches exposed to both parts are found batch by batch (each batch touches a few
  dozen suspects); A only = A's totals - both. Expanding every candidate pair over all
  batches of each part instead needed more than DuckDB's 2 GB at scale 1 (44 s against
  0.3 s for the same 39,234 rows on the scale-1 benchmark plant).
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
candidates as (
    -- suspects that are a part of some problem type's pairs
    select distinct suspect_kind, suspect_id, kind_rank from parts
),
exposure as (
    select e.suspect_kind, e.suspect_id, c.kind_rank, e.batch_code
    from {{ ref('int_suspect_batch_exposure') }} as e
    join candidates as c on c.suspect_kind = e.suspect_kind and c.suspect_id = e.suspect_id
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
-- Each part alone: units of its batches, complaints of each type on them.
part_units as (
    select e.suspect_kind, e.suspect_id, sum(u.units) as units
    from exposure as e
    join batch_units as u on u.batch_code = e.batch_code
    group by e.suspect_kind, e.suspect_id
),
part_complaints as (
    select bc.problem_type_code, e.suspect_kind, e.suspect_id, sum(bc.complaints) as complaints
    from batch_complaints as bc
    join exposure as e on e.batch_code = bc.batch_code
    group by bc.problem_type_code, e.suspect_kind, e.suspect_id
),
-- Batches exposed to both parts, found batch by batch (a batch touches a few dozen
-- suspects), never by expanding every pair over every batch of each part: A only = A - both.
batch_pairs as (
    select a.batch_code, a.suspect_kind as kind_a, a.suspect_id as id_a,
           b.suspect_kind as kind_b, b.suspect_id as id_b
    from exposure as a
    join exposure as b
      on b.batch_code = a.batch_code
     and b.kind_rank > a.kind_rank
     and not (a.suspect_kind = 'supplier_lot' and b.suspect_kind = 'supplier')
),
pair_complaints as (
    select bc.problem_type_code, bp.kind_a, bp.id_a, bp.kind_b, bp.id_b,
           sum(bc.complaints) as complaints_both
    from batch_complaints as bc
    join batch_pairs as bp on bp.batch_code = bc.batch_code
    group by bc.problem_type_code, bp.kind_a, bp.id_a, bp.kind_b, bp.id_b
    having sum(bc.complaints) >= {{ min_support }}
),
kept as (
    select p.*, pc.complaints_both
    from pair_complaints as pc
    join candidate_pairs as p
      on p.problem_type_code = pc.problem_type_code
     and p.kind_a = pc.kind_a and p.id_a = pc.id_a and p.kind_b = pc.kind_b and p.id_b = pc.id_b
),
pair_units as (
    select bp.kind_a, bp.id_a, bp.kind_b, bp.id_b, sum(u.units) as units_both
    from batch_pairs as bp
    join batch_units as u on u.batch_code = bp.batch_code
    where exists (select 1 from kept as k
                  where k.kind_a = bp.kind_a and k.id_a = bp.id_a
                    and k.kind_b = bp.kind_b and k.id_b = bp.id_b)
    group by bp.kind_a, bp.id_a, bp.kind_b, bp.id_b
),
pair_cells as (
    select
        k.problem_type_code, k.kind_a, k.id_a, k.kind_b, k.id_b,
        k.complaints_both,
        pu.units_both,
        ca.complaints - k.complaints_both as complaints_a_only,
        ua.units - pu.units_both as units_a_only,
        cb.complaints - k.complaints_both as complaints_b_only,
        ub.units - pu.units_both as units_b_only
    from kept as k
    join pair_units as pu
      on pu.kind_a = k.kind_a and pu.id_a = k.id_a and pu.kind_b = k.kind_b and pu.id_b = k.id_b
    join part_units as ua on ua.suspect_kind = k.kind_a and ua.suspect_id = k.id_a
    join part_units as ub on ub.suspect_kind = k.kind_b and ub.suspect_id = k.id_b
    join part_complaints as ca
      on ca.problem_type_code = k.problem_type_code
     and ca.suspect_kind = k.kind_a and ca.suspect_id = k.id_a
    join part_complaints as cb
      on cb.problem_type_code = k.problem_type_code
     and cb.suspect_kind = k.kind_b and cb.suspect_id = k.id_b
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
