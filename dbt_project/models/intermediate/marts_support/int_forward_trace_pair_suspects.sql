{#-
  The rows of marts.forward_trace for the combined suspects ranked in marts.suspect_ranking
  (suspect_kind line+shift, suspect_id L03+night): the batches exposed to both parts
  (int_suspect_batch_exposure), one row per (suspect, batch, shipment) as for single suspects.
  These move with every complaint (the ranking does); the single-suspect rows do not
  (int_forward_trace_single_suspects), and forward_trace is both, unioned.
-#}
with pair_exposure as (
    select suspect_kind, suspect_id, batch_code
    from {{ ref('int_suspect_batch_exposure') }}
),
ranked_pairs as (
    select distinct p.kind_a, p.id_a, p.kind_b, p.id_b
    from {{ ref('int_suspect_pair_counts') }} as p
    join {{ ref('suspect_ranking') }} as r
      on r.problem_type_code = p.problem_type_code
     and r.suspect_kind = {{ dbt.concat(["p.kind_a", "'+'", "p.kind_b"]) }}
     and r.suspect_id = {{ dbt.concat(["p.id_a", "'+'", "p.id_b"]) }}
    where r.rank is not null
),
pair_suspects as (
    select distinct
        {{ dbt.concat(["rp.kind_a", "'+'", "rp.kind_b"]) }} as suspect_kind,
        {{ dbt.concat(["rp.id_a", "'+'", "rp.id_b"]) }} as suspect_id,
        ea.batch_code,
        cast(null as {{ dbt.type_string() }}) as supplier_lot,
        0 as excursion_count
    from ranked_pairs as rp
    join pair_exposure as ea on ea.suspect_kind = rp.kind_a and ea.suspect_id = rp.id_a
    join pair_exposure as eb
      on eb.suspect_kind = rp.kind_b and eb.suspect_id = rp.id_b and eb.batch_code = ea.batch_code
)
{{ forward_trace_rows('pair_suspects', ref('int_batches_enriched'), ref('int_marts_batch_shipments')) }}
