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
  dozen suspects); A only = A's exposed totals in int_suspect_counts - both. Expanding every candidate pair over all
  batches of each part instead needed more than DuckDB's 2 GB at scale 1 (44 s against
  0.3 s for the same 39,234 rows on the scale-1 benchmark plant).
-#}
{%- set min_support = var('suspect_min_support', 3) -%}
{%- set kind_order -%}
    case suspect_kind when 'line' then 1 when 'shift' then 2 when 'equipment' then 3
         when 'operator' then 4 when 'supplier_lot' then 5 when 'supplier' then 6 end
{%- endset -%}
with parts as (
    -- each part's own exposed and population totals come from int_suspect_counts
    select problem_type_code, suspect_kind, suspect_id, {{ kind_order }} as kind_rank,
           complaints_exposed, units_exposed,
           complaints_exposed + complaints_unexposed as complaints_total,
           units_exposed + units_unexposed as units_total
    from {{ ref('int_suspect_counts') }}
    where suspect_kind in ('line', 'shift', 'equipment', 'operator', 'supplier_lot', 'supplier')
      and complaints_exposed >= {{ min_support }}
),
candidates as (
    -- suspects that are a part for some problem type
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
-- Batches exposed to both parts, found batch by batch, never by expanding every pair over
-- every batch of each part. Kinds ordered (one name per pair); a lot and its own supplier
-- are nested, never a pair.
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
pair_units as (
    select bp.kind_a, bp.id_a, bp.kind_b, bp.id_b, sum(u.units) as units_both
    from batch_pairs as bp
    join batch_units as u on u.batch_code = bp.batch_code
    where exists (select 1 from pair_complaints as pc
                  where pc.kind_a = bp.kind_a and pc.id_a = bp.id_a
                    and pc.kind_b = bp.kind_b and pc.id_b = bp.id_b)
    group by bp.kind_a, bp.id_a, bp.kind_b, bp.id_b
),
pair_cells as (
    -- both parts must be parts of this problem type
    select
        pc.problem_type_code, pc.kind_a, pc.id_a, pc.kind_b, pc.id_b,
        pc.complaints_both,
        pu.units_both,
        a.complaints_exposed - pc.complaints_both as complaints_a_only,
        a.units_exposed - pu.units_both as units_a_only,
        b.complaints_exposed - pc.complaints_both as complaints_b_only,
        b.units_exposed - pu.units_both as units_b_only,
        a.complaints_total,
        a.units_total
    from pair_complaints as pc
    join parts as a
      on a.problem_type_code = pc.problem_type_code
     and a.suspect_kind = pc.kind_a and a.suspect_id = pc.id_a
    join parts as b
      on b.problem_type_code = pc.problem_type_code
     and b.suspect_kind = pc.kind_b and b.suspect_id = pc.id_b
    join pair_units as pu
      on pu.kind_a = pc.kind_a and pu.id_a = pc.id_a and pu.kind_b = pc.kind_b and pu.id_b = pc.id_b
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
    cast(pc.complaints_total as {{ dbt.type_bigint() }}) as complaints_total,
    cast(pc.units_total as {{ dbt.type_bigint() }}) as units_total
from pair_cells as pc
