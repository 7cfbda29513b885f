{#-
  int_forward_trace_single_suspects kept between runs and rebuilt per batch (DuckDB).

    forward_trace_batch_fingerprints()
        -> SELECT batch_code, _inputs_hash: per batch of int_batches_enriched, an md5 of the
           model's code (forward_trace_singles_rows, rendered) and of everything its rows are made of: its batch row, its genealogy
           rows, its excursions, the machines of its line (latest stg_mes__equipment) and its
           shipments (int_marts_batch_shipments), each as sorted text.
    forward_trace_singles_prune()   (pre_hook, incremental runs; prune_changed_keys in
                                     macros/incremental/kept_per_key.sql)
        -> temp table fts_changed(batch_code, _inputs_hash): the batches whose fingerprint
           differs from the one their rows carry, new batches and vanished ones (hash NULL);
           then DELETE their rows. The model derives rows for fts_changed only.
  A code change changes every fingerprint, so every batch is derived again; `dbt build
  --full-refresh` rebuilds the table. On Spark (no DELETE on Parquet tables) the model is a
  table rebuilt in full and `_inputs_hash` is NULL (engine_parity ignores the column).
-#}

{#- bump to derive every batch again -#}
{% macro forward_trace_singles_version() -%}forward_trace_singles.v1{%- endmacro %}

{#- the CTEs `batches`, ..., `trace_rows` of the model (rows of the batches in CTE
    `fingerprints`), and the hash of their text: a code change derives every batch again -#}
{% macro forward_trace_singles_rows() -%}
batches as (
    select batch_code, product_code, product_model, line, batch_start, batch_end,
           units_produced
    from {{ ref('int_batches_enriched') }}
    where batch_code in (select batch_code from fingerprints)
),
genealogy as (
    select batch_code, material_lot, supplier_code, supplier_lot
    from {{ ref('int_batch_genealogy') }}
    where batch_code in (select batch_code from fingerprints)
),
excursions as (
    select batch_code, equipment_id, sum(excursion_count) as excursion_count
    from {{ ref('int_batch_excursions') }}
    where batch_code in (select batch_code from fingerprints)
    group by batch_code, equipment_id
),
suspects as (
    select 'batch' as suspect_kind, batch_code as suspect_id, batch_code,
           cast(null as {{ dbt.type_string() }}) as supplier_lot, 0 as excursion_count
    from batches
    union all
    select 'supplier_lot', material_lot, batch_code, min(supplier_lot), 0
    from genealogy where material_lot is not null
    group by material_lot, batch_code
    union all
    select distinct 'supplier', supplier_code, batch_code, cast(null as {{ dbt.type_string() }}), 0
    from genealogy where supplier_code is not null
    union all
    select 'equipment', e.equipment_id, b.batch_code, cast(null as {{ dbt.type_string() }}),
           coalesce(x.excursion_count, 0)
    from (select distinct equipment_id, line from {{ latest_version(ref('stg_mes__equipment')) }} as eq
          where equipment_id is not null) as e
    join batches as b on b.line = e.line
    left join excursions as x on x.batch_code = b.batch_code and x.equipment_id = e.equipment_id
),
trace_rows as (
    {{ forward_trace_rows('suspects', ref('int_batches_enriched'), ref('int_marts_batch_shipments')) }}
)
{%- endmacro %}

{% macro forward_trace_singles_code_hash() -%}
    {{ return(local_md5(forward_trace_singles_version() ~ '\n' ~ forward_trace_singles_rows())) }}
{%- endmacro %}

{% macro forward_trace_batch_fingerprints() -%}
    {{ return(adapter.dispatch('forward_trace_batch_fingerprints', 'qualitrace')(
        forward_trace_singles_code_hash())) }}
{%- endmacro %}

{% macro default__forward_trace_batch_fingerprints(code_hash) -%}
    select b.batch_code,
           md5(concat_ws('#', '{{ code_hash }}', b.t, coalesce(g.t, ''), coalesce(x.t, ''),
                         coalesce(e.t, ''), coalesce(s.t, ''))) as _inputs_hash
    from (
        select batch_code, line,
               cast(row(product_code, product_model, line, batch_start, batch_end,
                        units_produced) as varchar) as t
        from {{ ref('int_batches_enriched') }}
    ) as b
    left join (
        select batch_code,
               string_agg(cast(row(material_lot, supplier_code, supplier_lot) as varchar), ';'
                          order by material_lot, supplier_code, supplier_lot) as t
        from {{ ref('int_batch_genealogy') }}
        where batch_code is not null
        group by batch_code
    ) as g on g.batch_code = b.batch_code
    left join (
        select batch_code,
               string_agg(cast(row(equipment_id, parameter, excursion_count) as varchar), ';'
                          order by equipment_id, parameter, excursion_count) as t
        from {{ ref('int_batch_excursions') }}
        group by batch_code
    ) as x on x.batch_code = b.batch_code
    left join (
        select line, string_agg(equipment_id, ';' order by equipment_id) as t
        from (select distinct equipment_id, line
              from {{ latest_version(ref('stg_mes__equipment')) }} as eq
              where equipment_id is not null) as m
        group by line
    ) as e on e.line = b.line
    left join (
        select batch_code,
               string_agg(cast(row(shipment_no, customer_code, province_code, region, carrier,
                                   units, shipped_at, delivered_at) as varchar), ';'
                          order by shipment_no) as t
        from {{ ref('int_marts_batch_shipments') }}
        group by batch_code
    ) as s on s.batch_code = b.batch_code
{%- endmacro %}

{% macro spark__forward_trace_batch_fingerprints(code_hash) -%}
    select batch_code, cast(null as {{ dbt.type_string() }}) as _inputs_hash
    from {{ ref('int_batches_enriched') }}
{%- endmacro %}

{#- pre_hook: temp table fts_changed, the batches to derive again (kept_per_key.sql) -#}
{% macro forward_trace_singles_prune() -%}
    {{ prune_changed_keys(['batch_code'], forward_trace_batch_fingerprints, 'fts_changed') }}
{%- endmacro %}
