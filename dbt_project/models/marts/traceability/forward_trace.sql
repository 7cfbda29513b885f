{#-
  Forward trace: one row per (suspect, affected batch, shipment).
    single suspects (batch, supplier_lot, supplier, equipment): int_forward_trace_single_suspects,
                   which reads no complaint
    a combined suspect ranked in marts.suspect_ranking (suspect_kind line+shift, suspect_id
                   L03+night): int_forward_trace_pair_suspects
  On DuckDB a view over both tables (macros/marts/forward_trace.sql): building it writes no
  row, so neither a new complaint nor a new day copies the million single-suspect rows again;
  publishing reads it as it reads a table. On Spark a table (its views live in the metastore
  only, and the warehouse reads every Spark table in place).
-#}
{{ config(materialized=forward_trace_materialization()) }}
select {{ forward_trace_columns() }} from {{ ref('int_forward_trace_single_suspects') }}
union all
select {{ forward_trace_columns() }} from {{ ref('int_forward_trace_pair_suspects') }}
