{#-
  Incremental staging by delivered file version (every base_ model):

    incremental_by_file(system, entity, extra_columns={}, extra_rejects=[])
        -> the `staging_base(system, entity, ...)` SELECT plus `_conform_hash` (md5 of the rendered
           conformance SQL: it inlines the dictionary at compile time, so a dictionary or
           macro change changes it). On an incremental run it selects only the raw rows of
           (_source_file, _file_sha256) pairs that the table does not already hold under the
           current `_conform_hash`: a new or replaced file, or every file after a conformance
           change.
    incremental_by_file_prune(system, entity)   (pre_hook)
        -> on an incremental run, DELETE the rows whose (_source_file, _file_sha256) pair is
           no longer in raw (superseded, re-delivered as another version, removed).
    incremental strategy `by_file` (get_incremental_by_file_sql)
        -> DELETE the table's rows of the pairs just conformed, INSERT the new rows; when
           every row is replaced (conformance change) or the columns changed, the table is
           replaced by the new rows instead (same columns and order as a full rebuild).

  Model config:
    {{ config(materialized='incremental', incremental_strategy='by_file',
              pre_hook="{{ incremental_by_file_prune('mes', 'process_readings') }}") }}
    {{ incremental_by_file('mes', 'process_readings') }}

  Result after any run = a full rebuild from raw (`dbt build --full-refresh` still works).
  Relies on ingest landing a (_source_file, _file_sha256) version at most once per warehouse
  (landing.py skips versions already in raw._file_manifest, superseded ones included), so
  the pair identifies its rows. A table built before this change (no `_conform_hash`) is
  replaced on its first incremental run.
  Conformance that reads dictionary tables at run time (not inlined) is not covered by the
  hash: such a body is detected and every row is re-conformed on every run.
  Portable SQL (EXCEPT, NOT EXISTS, DELETE/INSERT); table replacement through adapter.dispatch.
-#}

{#- by_file_selects_changes() -> whether the engine conforms only new file versions on an
    incremental run (DELETE + INSERT). Where tables cannot delete rows (Spark on Parquet) every
    run conforms every file and overwrites the table: correct, not incremental. -#}
{% macro by_file_selects_changes() -%}
    {{ return(adapter.dispatch('by_file_selects_changes', 'qualitrace')()) }}
{%- endmacro %}
{% macro default__by_file_selects_changes() -%}
    {{ return(true) }}
{%- endmacro %}

{#- bump to rebuild every incremental_by_file table once (changes `_conform_hash`) -#}
{% macro incremental_by_file_version() -%}by_file.v1{%- endmacro %}

{% macro _by_file_lit(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{#- The table's pairs, raw's pairs: `select distinct` of the two lineage columns. -#}
{% macro _by_file_pairs(relation, where=none) -%}
    select distinct _source_file, _file_sha256 from {{ relation }}{% if where %} where {{ where }}{% endif %}
{%- endmacro %}

{% macro _by_file_has_column(relation, name) -%}
    {%- for c in adapter.get_columns_in_relation(relation) -%}
        {%- if c.name | lower == name -%}{{ return(true) }}{%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}

{% macro incremental_by_file(system, entity, extra_columns={}, extra_rejects=[]) -%}
{%- set src_rel = source('raw', system ~ '__' ~ entity) -%}
{%- set body = staging_base(system, entity, extra_columns=extra_columns, extra_rejects=extra_rejects) -%}
{%- set conform_hash = local_md5(incremental_by_file_version() ~ '\n' ~ body) -%}
{%- set pairs = none -%}
{%- if execute and is_incremental() and by_file_selects_changes() -%}
    {%- if '."dictionary".' in (body | string) or '.dictionary.' in (body | string) -%}
        {#- the conformance reads dictionary tables at run time: their content is not in the
            hash, so every run re-conforms every row (correct, not incremental) -#}
        {%- set pairs = none -%}
    {%- elif _by_file_has_column(this, '_conform_hash') -%}
        {%- set sql -%}
            {{ _by_file_pairs(src_rel) }}
            except
            {{ _by_file_pairs(this, "_conform_hash = '" ~ conform_hash ~ "'") }}
        {%- endset -%}
        {%- set pairs = run_query(sql).rows -%}
    {%- endif -%}
{%- endif %}
select
    _by_file.*,
    cast('{{ conform_hash }}' as {{ dbt.type_string() }}) as _conform_hash
from (
{{ body }}
) as _by_file
{%- if pairs is not none %}
{%- if pairs | length == 0 %}
where 1 = 0
{%- else %}
{%- set files = pairs | map(attribute=0) | unique | list %}
where _by_file._source_file in ({% for f in files %}{{ _by_file_lit(f) }}{{ ', ' if not loop.last }}{% endfor %})
  and ({% for p in pairs %}(_by_file._source_file = {{ _by_file_lit(p[0]) }} and _by_file._file_sha256 = {{ _by_file_lit(p[1]) }}){{ ' or ' if not loop.last }}{% endfor %})
{%- endif %}
{%- endif %}
{%- endmacro %}

{% macro incremental_by_file_prune(system, entity) -%}
{%- if execute and is_incremental() and by_file_selects_changes() -%}
    {%- set src_rel = source('raw', system ~ '__' ~ entity) -%}
    {%- set sql -%}
        {{ _by_file_pairs(this) }}
        except
        {{ _by_file_pairs(src_rel) }}
    {%- endset -%}
    {%- set stale = run_query(sql).rows -%}
    {%- if stale | length > 0 %}
delete from {{ this }}
where {% for p in stale %}(_source_file = {{ _by_file_lit(p[0]) }} and _file_sha256 = {{ _by_file_lit(p[1]) }}){{ ' or ' if not loop.last }}{% endfor %}
    {%- endif -%}
{%- endif -%}
{%- endmacro %}

{#- The `by_file` incremental strategy (dbt looks up get_incremental_<strategy>_sql). -#}
{% macro get_incremental_by_file_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set temp = arg_dict['temp_relation'] -%}
    {%- set sig = [] -%}
    {%- for rel in [target, temp] -%}
        {%- do sig.append(adapter.get_columns_in_relation(rel) | map(attribute='name') | map('lower') | join(',')
                          ~ '|' ~ adapter.get_columns_in_relation(rel) | map(attribute='dtype') | map('lower') | join(',')) -%}
    {%- endfor -%}
    {#- is any row of the table kept (of a pair not conformed again)? The first one found
        answers: no `select distinct` over the whole table -#}
    {%- set sql -%}
        select 1 from {{ target }} as t
        where not exists (
            select 1 from ({{ _by_file_pairs(temp) }}) as n
            where n._source_file = t._source_file and n._file_sha256 = t._file_sha256)
        limit 1
    {%- endset -%}
    {%- set kept = run_query(sql).rows | length -%}
    {%- if kept == 0 -%}
        {#- every row is new (first conformance, conformance change): replace the table -#}
        {{ return(adapter.dispatch('by_file_replace', 'qualitrace')(target, temp)) }}
    {%- elif sig[0] != sig[1] -%}
        {{ exceptions.raise_compiler_error("incremental_by_file: " ~ target ~ " and the new rows differ in columns ("
           ~ sig[0] ~ " vs " ~ sig[1] ~ ") but not every file was re-conformed; run with --full-refresh") }}
    {%- endif -%}
    {%- set cols = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set out -%}
delete from {{ target }}
where exists (
    select 1 from (select distinct _source_file as _n_file, _file_sha256 as _n_sha from {{ temp }}) as n
    where n._n_file = _source_file and n._n_sha = _file_sha256);
insert into {{ target }} ({{ cols }})
select {{ cols }} from {{ temp }}
    {%- endset -%}
    {{ return(out) }}
{%- endmacro %}

{% macro default__by_file_replace(target, temp) -%}
drop table if exists {{ target }};
create table {{ target }} as select * from {{ temp }}
{%- endmacro %}

{% macro duckdb__by_file_replace(target, temp) -%}
create or replace table {{ target }} as select * from {{ temp }}
{%- endmacro %}
