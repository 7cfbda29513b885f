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
        (e.g. a process spec with blank equipment_id = the spec for the whole type), except
        a vocabulary key field whose spelling the dictionary does not know yet (NULL, its
        text in `<field>_as_typed`): each such spelling is a key of its own until the owner
        adds it (two machine types 点焊机 and 冲压机 of one plant are not one spec).

    business_key_columns(system, entity) -> [column]; entity_field_types(system, entity) ->
        {field: type} (read at compile time from the published dictionary).
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
    {%- set types = entity_field_types(system, entity) -%}
    {%- set partition = _lv_key_exprs(keys, types) -%}
    {%- if 'updated_at' in types -%}
        {%- do order.append('case when _lv.updated_at is null then 1 else 0 end') -%}
        {%- do order.append('_lv.updated_at desc') -%}
    {%- endif -%}
    {%- do order.append(file_order_key('_lv._source_file') ~ ' desc') -%}
    {%- do order.append('_lv._source_row desc') -%}
    {#- a dbt unit test's given rows (a CTE) come from no file -#}
    {%- set partial = {} if '__dbt__cte__' in (relation | string) else absent_field_files(system, entity, keys) -%}
    {%- if partial | length > 0 -%}
    {{ return(_latest_version_carrying(relation, keys, partition, order, where, partial)) }}
    {%- endif -%}
    (
        select {{ star_except('_lv_ranked', ['_lv_rank'], relation) }}
        from (
            select
                _lv.*,
                row_number() over (
                    partition by {{ partition | join(', ') }}
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

{#- absent_field_files(system, entity, keys) -> {field: [sha256 of files without its column]}
    from raw._file_manifest.fields_absent (ingest), for the entity's fields other than the
    business key and updated_at; {} while parsing, when the manifest or the column does not
    exist (dbt unit tests, a home not ingested since), or when every file had every column. -#}
{% macro absent_field_files(system, entity, keys) -%}
    {%- if not execute -%}{{ return({}) }}{%- endif -%}
    {%- set manifest = adapter.get_relation(database=target.database if target.type == 'duckdb' else none,
                                            schema='raw', identifier='_file_manifest') -%}
    {%- if manifest is none -%}{{ return({}) }}{%- endif -%}
    {%- if 'fields_absent' not in (adapter.get_columns_in_relation(manifest) | map(attribute='name') | list) -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set rows = run_query("select sha256, fields_absent from " ~ manifest ~ " where system = "
                             ~ conform_sql_string(system) ~ " and entity = " ~ conform_sql_string(entity)
                             ~ " and fields_absent is not null order by sha256").rows -%}
    {%- set out = {} -%}
    {%- for row in rows -%}
        {%- for f in row[1].split(',') if f and f not in keys and f != 'updated_at' -%}
            {%- set shas = out.setdefault(f, []) -%}
            {%- if row[0] not in shas -%}{%- do shas.append(row[0]) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{#- The latest version of each key, where some files lacked a field's column: the winner's
    row, with each such field (and its staging companions `<field>_as_typed`, `_flag`,
    `_region`, `_unparsed`, `_as_delivered`, `_is_known`; customer_key and
    customer_phone_masked with customer_phone) taken from the latest version whose
    file had the column (the winner itself when its file had it). A status-only re-export
    thus updates the status and keeps the batch code, province and serial delivered before;
    a blank value delivered in a column still wins as the latest value. -#}
{% macro _latest_version_carrying(relation, keys, partition, order, where, partial) -%}
    {%- set cols = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- set fields = partial.keys() | list | sort -%}
    {%- set companions = ['as_typed', 'flag', 'region', 'unparsed', 'as_delivered', 'is_known'] -%}
    {#- staging columns derived from a personal field (dropped in staging) -#}
    {%- set derived = {'customer_key': 'customer_phone', 'customer_phone_masked': 'customer_phone'} -%}
    {%- set donor_of = {} -%}
    {%- for c in cols -%}
        {%- for f in fields -%}
            {%- if c == f or (c.startswith(f ~ '_') and c[(f | length) + 1:] in companions) or derived.get(c) == f -%}
                {%- do donor_of.update({c: loop.index}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    (
        select
        {%- for c in cols %}
            {{ ('_lv_d' ~ donor_of[c]) if c in donor_of else '_lv_w' }}.{{ adapter.quote(c) }}{{ ',' if not loop.last }}
        {%- endfor %}
        from (
            select _lv.*, row_number() over (partition by {{ partition | join(', ') }}
                                             order by {{ order | join(', ') }}) as _lv_rank
            from {{ relation }} as _lv
            {%- if where %}
            where {{ where }}
            {%- endif %}
        ) as _lv_w
        {%- for f in fields %}
        {%- set d = '_lv_d' ~ loop.index %}
        left join (
            select _lv.*, row_number() over (
                partition by {{ partition | join(', ') }}
                order by case when _lv._file_sha256 in ({% for sha in partial[f] %}{{ conform_sql_string(sha) }}{{ ', ' if not loop.last }}{% endfor %}) then 1 else 0 end,
                         {{ order | join(', ') }}) as _lv_rank
            from {{ relation }} as _lv
            {%- if where %}
            where {{ where }}
            {%- endif %}
        ) as {{ d }}
            on {{ d }}._lv_rank = 1
            {%- for e in partition %}
            {%- set ed = e | replace('_lv.', d ~ '.') %}{%- set ew = e | replace('_lv.', '_lv_w.') %}
            and ({{ ed }} = {{ ew }} or ({{ ed }} is null and {{ ew }} is null))
            {%- endfor %}
        {%- endfor %}
        where _lv_w._lv_rank = 1
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

{#- {field: type} of an entity's fields, from the published dictionary -#}
{% macro entity_field_types(system, entity) -%}
    {%- if not execute -%}{{ return({}) }}{%- endif -%}
    {%- set rows = run_query("select field, type from " ~ dictionary_table('fields', lineage=false) ~ " where system = '" ~ system
                             ~ "' and entity = '" ~ entity ~ "'") -%}
    {%- set out = {} -%}
    {%- for r in rows.rows -%}{%- do out.update({r[0]: r[1]}) -%}{%- endfor -%}
    {{ return(out) }}
{%- endmacro %}

{#- the partition expressions of `keys` over alias `_lv`: the column, and for a vocabulary
    field the spelling as typed while it does not conform (NULL once it does) -#}
{% macro _lv_key_exprs(keys, types) -%}
    {%- set out = [] -%}
    {%- for k in keys -%}
        {%- do out.append('_lv.' ~ adapter.quote(k)) -%}
        {%- if types.get(k) == 'vocab' -%}
            {%- do out.append('(case when _lv.' ~ adapter.quote(k) ~ ' is null then _lv.'
                              ~ adapter.quote(k ~ '_as_typed') ~ ' end)') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{%- endmacro %}
