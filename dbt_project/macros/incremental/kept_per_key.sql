{#-
  Tables kept between runs and derived again per key (an hour of a machine's readings, a
  batch, a complaint text), shared by the models that work this way:

    kept_table_materialization()  -> `incremental` (strategy `append`: the keys derived
                                     again); on Spark (Parquet tables: no DELETE) a `table`
                                     rebuilt in full on every run.
    kept_table_is_incremental()   -> whether this run derives only some keys.
    prune_changed_keys(keys, fingerprints, changed, one_row_per_key)   (pre_hook)
        `fingerprints` is a macro returning a SELECT of `keys` and `_inputs_hash`: per key, an
        md5 of the model's code and of everything the key's rows are made of (called only on
        an incremental run). Creates temp table
        `changed`(keys, _inputs_hash): the keys whose fingerprint differs from the one their
        rows carry, new keys and vanished ones (_inputs_hash NULL); then DELETEs their rows.
        Rows written before the table had `_inputs_hash` carry none: every key is derived
        again. `one_row_per_key` skips the DISTINCT over the kept rows.
    changed_keys(keys, changed)   -> SELECT of the keys to derive (the model's side).

  A code change changes every fingerprint, so every key is derived again; `dbt build
  --full-refresh` rebuilds the table.
-#}

{% macro kept_table_materialization() -%}
    {{ return(adapter.dispatch('kept_table_materialization', 'qualitrace')()) }}
{%- endmacro %}
{% macro default__kept_table_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}
{% macro spark__kept_table_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{% macro kept_table_is_incremental() -%}
    {{ return(execute and is_incremental() and kept_table_materialization() == 'incremental') }}
{%- endmacro %}

{% macro prune_changed_keys(keys, fingerprints, changed, one_row_per_key=false) -%}
{%- if kept_table_is_incremental() -%}
{%- set held = '_inputs_hash' if _by_file_has_column(this, '_inputs_hash')
               else 'cast(null as ' ~ dbt.type_string() ~ ')' -%}
create or replace temp table {{ changed }}__now as
{{ fingerprints() }};
create or replace temp table {{ changed }} as
select {% for k in keys %}coalesce(n.{{ k }}, o.{{ k }}) as {{ k }}, {% endfor %}n._inputs_hash
from {{ changed }}__now as n
full outer join (select {{ '' if one_row_per_key else 'distinct ' }}{{ keys | join(', ') }},
                        {{ held }} as _inputs_hash
                 from {{ this }}) as o
    on {% for k in keys %}{{ ' and ' if not loop.first }}o.{{ k }} = n.{{ k }}{% endfor %}
where n._inputs_hash is distinct from o._inputs_hash;
delete from {{ this }} as t
where exists (select 1 from {{ changed }} as c
              where {% for k in keys %}{{ ' and ' if not loop.first }}c.{{ k }} = t.{{ k }}{% endfor %})
{%- endif -%}
{%- endmacro %}

{% macro changed_keys(keys, changed) -%}
    select {{ keys | join(', ') }}, _inputs_hash from {{ changed }} where _inputs_hash is not null
{%- endmacro %}
