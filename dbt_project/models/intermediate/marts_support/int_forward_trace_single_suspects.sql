{#-
  The rows of marts.forward_trace for single suspects: one row per (suspect, affected batch,
  shipment) for
    batch        : the batch itself
    supplier_lot : a material lot (suspect_id = material lot; supplier_lot carries the
                   supplier's own lot number) -> the batches that consumed it
    supplier     : a supplier -> the batches that consumed any of its lots
    equipment    : a machine -> every batch produced on its line (had_excursion marks the
                   batches with an excursion on that machine)
  A batch that never shipped has one row with shipment_no NULL and units_at_risk 0.
  Nothing here reads complaints: a new complaint leaves these rows as they are
  (forward_trace is this table and int_forward_trace_pair_suspects, unioned).

  Every row belongs to one batch and is a function of that batch's inputs alone (its batch
  row, genealogy, excursions, shipments, the machines of its line) and of this code. On
  DuckDB the table is kept between runs and rebuilt per batch: `_inputs_hash` fingerprints a
  batch's inputs and the code (macros/marts/forward_trace_singles.sql); a run deletes and
  re-derives only the batches whose fingerprint changed, appeared or disappeared, so a new
  day rewrites its own batches, not a million rows. Same rows as a full rebuild
  (tests/test_forward_trace_union.py). On Spark a table rebuilt in full.
-#}
{{ config(materialized=kept_table_materialization(), incremental_strategy='append',
          on_schema_change='sync_all_columns',
          pre_hook="{{ forward_trace_singles_prune() }}") }}
with fingerprints as (
{%- if kept_table_is_incremental() %}
    -- the batches whose inputs changed since the last build (the pre_hook found them)
    {{ changed_keys(['batch_code'], 'fts_changed') }}
{%- else %}
    {{ forward_trace_batch_fingerprints() }}
{%- endif %}
),
{{ forward_trace_singles_rows() }}
select r.*, f._inputs_hash
from trace_rows as r
join fingerprints as f on f.batch_code = r.batch_code
