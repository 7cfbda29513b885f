{#-
  marts.forward_trace, kept between runs where the engine can DELETE (DuckDB).

  Its single-suspect rows (batch, supplier lot, supplier, machine: over a million at scale 1)
  read no complaint; its combined-suspect rows (line+shift, ...) follow the ranking, which
  moves with every complaint. int_forward_trace_single_suspects holds the single rows, and
  forward_trace is incremental (strategy `append`):
    forward_trace_copies_singles() -> whether this build copies the single rows: a first or
        full-refresh build, or int_forward_trace_single_suspects was rebuilt since the last
        copy, or forward_trace's own code changed. Judged from a state table beside
        int_forward_trace_single_suspects (`forward_trace__state`: the build that wrote the
        single rows, and the build and code hash of the last copy), never from which models a
        dbt invocation selected, so any sequence of dbt commands gives a full rebuild's rows.
    forward_trace_prune()          (pre_hook) -> DELETE the combined-suspect rows, or every
        row when the single rows are copied again.
    forward_trace_singles_built()  (post_hook of int_forward_trace_single_suspects) and
    forward_trace_singles_copied() (post_hook of forward_trace) -> record both in the state.
  On Spark (Parquet tables: no DELETE) forward_trace is a table rebuilt in full on every run,
  and the hooks do nothing.
-#}

{% macro forward_trace_materialization() -%}
    {{ return(adapter.dispatch('forward_trace_materialization', 'qualitrace')()) }}
{%- endmacro %}
{% macro default__forward_trace_materialization() -%}
    {{ return('incremental') }}
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

{#- the suspect kinds whose rows come from int_forward_trace_single_suspects -#}
{% macro forward_trace_single_kinds() -%}
    ('batch', 'supplier_lot', 'supplier', 'equipment')
{%- endmacro %}

{% macro _forward_trace_state(singles) -%}
    {{ return(api.Relation.create(database=singles.database, schema=singles.schema,
                                  identifier='forward_trace__state')) }}
{%- endmacro %}

{% macro _forward_trace_state_ddl(state) -%}
create table if not exists {{ state }} (kind {{ dbt.type_string() }}, build_id {{ dbt.type_string() }},
                                        code_hash {{ dbt.type_string() }})
{%- endmacro %}

{% macro _forward_trace_code_hash() -%}
    {{ return(local_md5(model.raw_code)) }}
{%- endmacro %}

{% macro forward_trace_copies_singles() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set singles = ref('int_forward_trace_single_suspects') -%}
    {%- set state = _forward_trace_state(singles) -%}
    {%- if adapter.get_relation(state.database, state.schema, state.identifier) is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set query -%}
        select count(*) from {{ state }} as c
        join {{ state }} as b on b.kind = 'built' and c.build_id = b.build_id
        where c.kind = 'copied' and c.code_hash = '{{ _forward_trace_code_hash() }}'
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] == 0) }}
{%- endmacro %}

{% macro forward_trace_prune() -%}
    {{ return(adapter.dispatch('forward_trace_prune', 'qualitrace')()) }}
{%- endmacro %}
{% macro default__forward_trace_prune() -%}
{%- if execute and is_incremental() -%}
delete from {{ this }}
{%- if not forward_trace_copies_singles() %}
where suspect_kind not in {{ forward_trace_single_kinds() }}
{%- endif -%}
{%- endif -%}
{%- endmacro %}
{% macro spark__forward_trace_prune() -%}{%- endmacro %}

{#- post_hook of int_forward_trace_single_suspects: this build wrote the single rows -#}
{% macro forward_trace_singles_built() -%}
    {{ return(adapter.dispatch('forward_trace_singles_built', 'qualitrace')()) }}
{%- endmacro %}
{% macro default__forward_trace_singles_built() -%}
{%- if execute -%}
{%- set state = _forward_trace_state(this) -%}
{{ _forward_trace_state_ddl(state) }};
delete from {{ state }} where kind = 'built';
insert into {{ state }} values ('built', '{{ invocation_id }}', '')
{%- endif -%}
{%- endmacro %}
{% macro spark__forward_trace_singles_built() -%}{%- endmacro %}

{#- post_hook of forward_trace: it holds the single rows of that build, under this code -#}
{% macro forward_trace_singles_copied() -%}
    {{ return(adapter.dispatch('forward_trace_singles_copied', 'qualitrace')()) }}
{%- endmacro %}
{% macro default__forward_trace_singles_copied() -%}
{%- if execute -%}
{%- set state = _forward_trace_state(ref('int_forward_trace_single_suspects')) -%}
{{ _forward_trace_state_ddl(state) }};
delete from {{ state }} where kind = 'copied';
insert into {{ state }}
select 'copied', build_id, '{{ _forward_trace_code_hash() }}' from {{ state }} where kind = 'built'
{%- endif -%}
{%- endmacro %}
{% macro spark__forward_trace_singles_copied() -%}{%- endmacro %}
