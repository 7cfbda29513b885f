{#-
  marts.forward_trace = int_forward_trace_single_suspects (batch, supplier lot, supplier,
  machine: over a million rows at scale 1, reading no complaint) UNION ALL
  int_forward_trace_pair_suspects (the combined suspects the ranking names, moving with every
  complaint). A view on DuckDB, so building it writes no row; a table on Spark, whose views
  live only in its metastore.
-#}

{% macro forward_trace_materialization() -%}
    {{ return(adapter.dispatch('forward_trace_materialization', 'qualitrace')()) }}
{%- endmacro %}
{% macro default__forward_trace_materialization() -%}
    {{ return('view') }}
{%- endmacro %}
{% macro spark__forward_trace_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{#- the columns of forward_trace, in order -#}
{% macro forward_trace_columns() -%}
    forward_trace_key, suspect_kind, suspect_id, supplier_lot, batch_code, product_code,
    product_model, line, batch_start, batch_end, units_produced, excursion_count, had_excursion,
    shipment_no, customer_code, province_code, region, carrier, units_at_risk, shipped_at,
    delivered_at
{%- endmacro %}

{#- forward_trace's rows for the suspects of CTE `suspects` (suspect_kind, suspect_id,
    batch_code, supplier_lot, excursion_count): one per shipment of the batch, or one with no
    shipment -#}
{% macro forward_trace_rows(suspects, batches, shipments) -%}
select
    {{ dbt.concat(["s.suspect_kind", "'|'", "s.suspect_id", "'|'", "s.batch_code", "'|'",
                   "coalesce(sh.shipment_no, '')"]) }} as forward_trace_key,
    s.suspect_kind,
    s.suspect_id,
    s.supplier_lot,
    s.batch_code,
    b.product_code,
    b.product_model,
    b.line,
    b.batch_start,
    b.batch_end,
    b.units_produced,
    {{ as_integer('s.excursion_count') }} as excursion_count,
    s.excursion_count > 0 as had_excursion,
    sh.shipment_no,
    sh.customer_code,
    sh.province_code,
    sh.region,
    sh.carrier,
    coalesce(sh.units, 0) as units_at_risk,
    sh.shipped_at,
    sh.delivered_at
from {{ suspects }} as s
join {{ batches }} as b on b.batch_code = s.batch_code
left join {{ shipments }} as sh on sh.batch_code = s.batch_code
{%- endmacro %}
