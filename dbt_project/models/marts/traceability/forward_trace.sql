{#-
  Forward trace: one row per (suspect, affected batch, shipment).
    single suspects (batch, supplier_lot, supplier, equipment): the rows of
                   int_forward_trace_single_suspects, which reads no complaint
    a combined suspect ranked in marts.suspect_ranking (suspect_kind line+shift, suspect_id
                   L03+night) -> the batches exposed to both parts (int_suspect_batch_exposure)
  Only the combined suspects depend on complaints. On DuckDB the table is kept between runs
  (macros/marts/forward_trace.sql): every build replaces the combined-suspect rows and copies
  the single-suspect rows only when int_forward_trace_single_suspects was rebuilt since the
  last copy (or this model's code changed), so a new complaint does not rewrite a million rows.
  Same rows as a full rebuild (tests/test_forward_trace_incremental.py).
-#}
{{ config(materialized=forward_trace_materialization(), incremental_strategy='append',
          on_schema_change='sync_all_columns',
          pre_hook="{{ forward_trace_prune() }}",
          post_hook="{{ forward_trace_singles_copied() }}") }}
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
),
pair_rows as (
    {{ forward_trace_rows('pair_suspects', ref('int_batches_enriched'),
                          ref('int_marts_batch_shipments')) }}
)
{% if forward_trace_copies_singles() -%}
select {{ forward_trace_columns() }} from {{ ref('int_forward_trace_single_suspects') }}
union all
{% endif -%}
select {{ forward_trace_columns() }} from pair_rows
