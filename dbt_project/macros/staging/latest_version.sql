{#-
  Supersede (EXPORTS.md): "a later row with the same business key supersedes an earlier one
  (latest `updated_at`, else latest file, wins)". Staging keeps every valid row (governance
  reconciles staged row counts), so the intermediate layer reads the latest version:

    latest_version(relation, key_columns=none, order_columns=none, where=none)
        -> a parenthesised SELECT (use as `from {{ latest_version(ref('stg_x__y')) }} as t`)
           with every column of `relation` and one row per business key:
             `updated_at` desc (nulls last) when the entity has that field, then the file
             order key of `_source_file` desc (later delivery), then `_source_row` desc.
           key_columns default: the entity's business key from the published dictionary
           (`dictionary.entities.business_key`), the entity taken from the relation name
           `stg_<system>__<entity>`. Business-key fields are staging columns under their
           canonical name (conformed: e.g. mes `batch` holds the canonical batch code).
           order_columns: SQL order expressions put before the default ordering.
           where: SQL condition over alias `_lv` applied before ranking; it must keep or drop
           whole business keys (test key columns only, e.g. `_lv.serial_no in (...)`), so the
           rows kept are exactly the latest versions of the keys it keeps.
        Portable SQL (row_number, no QUALIFY). A NULL key part groups with other NULLs
        (e.g. a process spec with blank equipment_id = the spec for the whole type).

    business_key_columns(system, entity) -> [column]; entity_has_field(system, entity, field) -> bool
        (read at compile time from the published dictionary).
-#}
{% macro latest_version(relation, key_columns=none, order_columns=none, where=none) -%}
    {%- if not execute -%}
        {#- parsing: ref() resolves to the calling model. No source() dependency on the
            dictionary is registered: the stg_ parent already depends on it, and unit tests of
            the calling model would have to mock it. -#}
        {%- do return('(select * from ' ~ relation ~ ')') -%}
    {%- endif -%}
    {#- unit tests and ephemeral refs render as `__dbt__cte__stg_...`: take the stg_ name -#}
    {%- set ident = (relation.identifier if relation.identifier is defined and relation.identifier else (relation | string)) | replace('"', '') -%}
    {%- set name = ident.split('.')[-1] -%}
    {%- set name = name[name.find('stg_'):] if name.find('stg_') >= 0 else name -%}
    {%- set parts = name.split('__') -%}
    {%- if not name.startswith('stg_') or parts | length != 2 -%}
        {{ exceptions.raise_compiler_error("latest_version: expected a stg_<system>__<entity> relation, got " ~ name) }}
    {%- endif -%}
    {%- set system = parts[0][4:] -%}
    {%- set entity = parts[1] -%}
    {%- set keys = key_columns if key_columns is not none else business_key_columns(system, entity) -%}
    {%- set order = [] -%}
    {%- for o in (order_columns or []) -%}{%- do order.append(o) -%}{%- endfor -%}
    {%- if entity_has_field(system, entity, 'updated_at') -%}
        {%- do order.append('case when _lv.updated_at is null then 1 else 0 end') -%}
        {%- do order.append('_lv.updated_at desc') -%}
    {%- endif -%}
    {%- do order.append(file_order_key('_lv._source_file') ~ ' desc') -%}
    {%- do order.append('_lv._source_row desc') -%}
    (
        select {{ star_except('_lv_ranked', ['_lv_rank'], relation) }}
        from (
            select
                _lv.*,
                row_number() over (
                    partition by {% for k in keys %}_lv.{{ adapter.quote(k) }}{{ ', ' if not loop.last }}{% endfor %}
                    order by {{ order | join(', ') }}
                ) as _lv_rank
            from {{ relation }} as _lv
            {%- if where %}
            where {{ where }}
            {%- endif %}
        ) as _lv_ranked
        where _lv_rank = 1
    )
{%- endmacro %}

{% macro business_key_columns(system, entity) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set rows = run_query("select business_key from " ~ dictionary_table('entities', lineage=false) ~ " where system = '" ~ system
                             ~ "' and entity = '" ~ entity ~ "'") -%}
    {%- if rows.rows | length == 0 or not rows.rows[0][0] -%}
        {{ exceptions.raise_compiler_error("dictionary.entities has no business_key for " ~ system ~ "." ~ entity) }}
    {%- endif -%}
    {%- set out = [] -%}
    {%- for k in rows.rows[0][0].split(',') if k.strip() -%}{%- do out.append(k.strip()) -%}{%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{% macro entity_has_field(system, entity, field) -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set rows = run_query("select count(*) from " ~ dictionary_table('fields', lineage=false) ~ " where system = '" ~ system
                             ~ "' and entity = '" ~ entity ~ "' and field = '" ~ field ~ "'") -%}
    {{ return(rows.rows[0][0] | int > 0) }}
{%- endmacro %}
