{#-
  Staging generated from the dictionary (nothing restated in SQL):

    staging_base(system, entity, extra_columns={}, extra_rejects=[])
        -> SELECT over source('raw', '<system>__<entity>') with, per dictionary field:
             typed/conformed value under the canonical name (pii fields dropped);
             batch_code fields also `<name>_as_typed` (trimmed text) and `<name>_flag`
             (NULL blank / 'ok' / 'unmatched'); province fields also `<name>_region`;
             coded fields (coded_types) also `<name>_as_typed`; unit fields `<name>_is_known`;
             values with a unit_field converted to the canonical unit, original in
             `<name>_as_delivered`;
           `extra_columns` {name: sql expr over alias `src`} appended;
           lineage `_extra`, `_source_file`, `_source_row`, `_file_sha256`, `_loaded_at`;
           `_raw_record` (JSON of the raw row, rejected rows only); `_reject_reason` = first failing rule as
           '<reason_code>:<field>' (NULL when the row is good) and `_reject_detail`.
        Rules, per field in export order: missing_required_field, invalid_timestamp,
        invalid_date, invalid_number (required fields: an optional one in no known form is NULL with
        its text in `<name>_unparsed`), invalid_batch_code (required batch fields),
        invalid_serial (required serial fields);
        an unknown unit spelling is not a reject (value NULL, a dictionary gap);
        then `extra_rejects` [(sql condition over `src`, 'reason:field', detail sql)].

    typed_value(field, raw_expr, kind_expr)  -> the conformed expression for one field
    default_unit_for(fields, field)          -> canonical unit assumed for a blank optional unit
-#}

{#- Field types whose values are conformed to a vocabulary: an unknown spelling becomes NULL
    (kept in `<name>_as_typed`) and is reported in governance.dictionary_gaps. -#}
{% macro coded_types() -%}
    {{ return(['batch_code', 'serial', 'province', 'shift', 'line', 'severity', 'pass_fail', 'boolean', 'status', 'vocab']) }}
{%- endmacro %}

{#- Field types parsed from text: an optional one in no known form is NULL, its text kept in
    `<name>_unparsed` and reported in governance.dictionary_gaps (a required one rejects the row). -#}
{% macro parsed_types() -%}
    {{ return(['timestamp', 'date', 'integer', 'decimal']) }}
{%- endmacro %}

{% macro blank_to_null(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}

{#- no_value_markers() -> {field type: [texts read as no value in a field of that type]}
    (dictionary.no_value_markers: `-`, `N/A`, `无` …, every spelling matched listed), and under
    `'<type>:ords'` the code points they start with; free text has none. One
    compile-time query per model. -#}
{% macro no_value_markers() -%}
    {%- set by_type = {} -%}
    {%- for row in conform_dictionary_rows("select field_type, marker, first_code_point from "
                                           ~ dictionary_table('no_value_markers') ~ " order by field_type, marker") -%}
        {%- do by_type.setdefault(row[0], []).append(row[1]) -%}
        {%- set ords = by_type.setdefault(row[0] ~ ':ords', []) -%}
        {%- if (row[2] | int) not in ords -%}{%- do ords.append(row[2] | int) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(by_type) }}
{%- endmacro %}

{#- is_blank(expr, markers=[], ords=[]) -> boolean, never NULL: `blank_to_null(expr) is null`,
    or the trimmed text is one of `markers` (no_value_markers of the field's type; `ords` the
    code points they start with). staging_base computes it once per field (`__b__<field>`) for
    the reject rules, flags and `<field>_as_typed`. DuckDB: a value whose first character is
    printable ASCII cannot trim to '' (trim strips Unicode space separators), so only the other
    values pay for trim(), and only values starting like a marker compare with the list. -#}
{% macro is_blank(expr, markers=[], ords=[]) -%}
    {{ return(adapter.dispatch('is_blank', 'qualitrace')(expr, markers, ords)) }}
{%- endmacro %}
{% macro _marker_list(markers) -%}
    ({% for m in markers %}{{ conform_sql_string(m) }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
{% macro default__is_blank(expr, markers=[], ords=[]) -%}
    {%- if markers | length == 0 -%}
    ({{ blank_to_null(expr) }} is null)
    {%- else -%}
    coalesce(trim({{ expr }}) = '' or trim({{ expr }}) in {{ _marker_list(markers) }}, true)
    {%- endif -%}
{%- endmacro %}
{% macro duckdb__is_blank(expr, markers=[], ords=[]) -%}
    {%- if markers | length == 0 -%}
    case when {{ expr }} is null then true
         when ord({{ expr }}) between 33 and 126 then false
         else trim({{ expr }}) = '' end
    {%- else -%}
    {#- a value starting with printable ASCII is a marker only if it starts like one (a number
        or a time never does): a separate branch, so other values skip the list -#}
    case when {{ expr }} is null then true
         when ord({{ expr }}) not between 33 and 126 then trim({{ expr }}) = '' or trim({{ expr }}) in {{ _marker_list(markers) }}
         when ord({{ expr }}) in ({{ ords | join(', ') }}) then rtrim({{ expr }}) in {{ _marker_list(markers) }}
         else false end
    {%- endif -%}
{%- endmacro %}

{% macro to_number(expr) -%}
    {{ conform_number(expr) }}
{%- endmacro %}

{#- default_unit_for(fields, value_field): a blank optional unit of a concrete kind means the
    kind's canonical unit (e.g. shipments: blank unit = pcs); NULL otherwise. -#}
{% macro default_unit_for(fields, field) -%}
    {%- set unit_field = (fields | selectattr('name', 'equalto', field.unit_field) | list) -%}
    {%- if unit_field | length == 0 or unit_field[0].required or field.unit_kind in [none, 'any', 'by_parameter'] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query("select canonical_unit from " ~ dictionary_table('unit_kinds') ~ " where unit_kind = '" ~ field.unit_kind ~ "'") -%}
    {{ return(rows.rows[0][0] if rows.rows | length > 0 else none) }}
{%- endmacro %}

{#- Field types whose lookup key (conform_lookup_key of the raw text) staging_base computes once
    per row, as `__key__<field>`, and shares between the lookups of that field. -#}
{% macro keyed_types() -%}
    {{ return(['unit', 'status', 'vocab']) }}
{%- endmacro %}

{#- Field types conformed once per distinct raw value (`__codes__<field>`: few distinct values,
    an expensive chain of regexes), joined back to the rows on the raw text (a NULL raw value
    matches nothing: NULL, as the conformance of NULL). Same values as conforming every row;
    the table's physical row order may differ (nothing relies on it: incremental runs append). -#}
{% macro deduped_types() -%}
    {{ return(['batch_code']) }}
{%- endmacro %}

{#- conform_plausible_time(x): x when its year lies in dictionary.time_settings (codes.yml
    timestamp_year_min .. publication year + timestamp_years_ahead), else NULL: the row is then
    rejected invalid_timestamp / invalid_date (1900, 1970 = epoch 0, 2999). -#}
{% macro conform_plausible_time(x) -%}
    {%- set years = conform_dictionary_rows("select year_min, year_max from " ~ dictionary_table('time_settings')) -%}
    {%- if years | length == 0 -%}{{ x }}{%- else -%}
    case when extract(year from {{ x }}) between {{ years[0][0] | int }} and {{ years[0][1] | int }} then {{ x }} end
    {%- endif -%}
{%- endmacro %}

{% macro typed_value(field, raw_expr, key_expr=none) -%}
    {%- set t = field.type -%}
    {%- if t == 'code' -%} {{ conform_text_code(raw_expr) }}
    {%- elif t == 'integer' -%} cast(round({{ to_number(raw_expr) }}) as {{ dbt.type_bigint() }})
    {%- elif t == 'decimal' -%} {{ to_number(raw_expr) }}
    {%- elif t == 'date' -%} {{ conform_plausible_time(conform_date(raw_expr)) }}
    {%- elif t == 'timestamp' -%} {{ conform_plausible_time(conform_timestamp(raw_expr)) }}
    {%- elif t in ['boolean', 'pass_fail'] -%} {{ conform_pass_fail(raw_expr) }}
    {%- elif t == 'batch_code' -%} {{ conform_batch_code(raw_expr) }}
    {%- elif t == 'serial' -%} {{ conform_serial(raw_expr) }}
    {%- elif t == 'province' -%} {{ conform_province(raw_expr) }}
    {%- elif t == 'shift' -%} {{ conform_shift(raw_expr) }}
    {%- elif t == 'line' -%} {{ conform_line(raw_expr) }}
    {%- elif t == 'severity' -%} {{ conform_severity(raw_expr) }}
    {%- elif t in ['status', 'vocab'] and key_expr is not none -%} {{ conform_vocab_case(key_expr, field.vocabulary or t) }}
    {%- elif t in ['status', 'vocab'] -%} {{ conform_vocab(raw_expr, field.vocabulary or t) }}
    {%- elif t == 'unit' and key_expr is not none -%} case when {{ key_expr }} is null then null else {{ blank_to_null(raw_expr) }} end
    {%- elif t == 'unit' -%} {{ blank_to_null(raw_expr) }}
    {%- else -%} {{ blank_to_null(raw_expr) }}
    {%- endif -%}
{%- endmacro %}

{% macro staging_base(system, entity, extra_columns={}, extra_rejects=[]) -%}
{%- set fields = dictionary_fields(system, entity) -%}
{%- set src_rel = source('raw', system ~ '__' ~ entity) -%}
{%- set _unit_kinds = dictionary_table('unit_kinds') -%}
{%- set markers = no_value_markers() -%}
{%- if not execute -%}
select src.*, cast(null as {{ dbt.type_string() }}) as _reject_reason from {{ src_rel }} as src
{%- else -%}
{#- Stage 1 (`typed`): every conformance expression rendered once, as "__t__<field>".
    Stage 2: canonical columns, derived columns and reject rules read stage-1 columns.
    Stage 0 (`keyed`): `__key__<field>` = conform_lookup_key of unit / status / vocab fields,
    computed once and shared by every lookup of the field; `__d__<field>` = the typed value of
    a batch_code field, conformed once per distinct raw value (`__codes__<field>`) and joined.
    Stage 1 also holds `__b__<field>` (is_blank of the raw text, once per field): the reject
    rules and flags read it instead of trimming the raw text again in every rule. -#}
{%- set checks = [] -%}
{%- for f in fields -%}
    {%- set raw = 't.' ~ adapter.quote(f.name) -%}
    {%- set typed = 't.' ~ adapter.quote('__t__' ~ f.name) -%}
    {%- set blank = 't.' ~ adapter.quote('__b__' ~ f.name) -%}
    {%- if f.required and not f.pii and markers.get(f.type, []) | length > 0 -%}
        {#- a no-value marker (`-`, `N/A`) is shown, so the owner sees what was delivered -#}
        {%- do checks.append((blank, 'missing_required_field:' ~ f.name,
            "case when trim(" ~ raw ~ ") <> '' then '" ~ f.name ~ "=' || " ~ raw ~ " || ' (no value)' else 'required field is blank' end")) -%}
    {%- elif f.required -%}
        {%- do checks.append((blank, 'missing_required_field:' ~ f.name, "'required field is blank'")) -%}
    {%- endif -%}
    {%- set bad = 'not ' ~ blank ~ ' and ' ~ typed ~ ' is null' -%}
    {%- set shown = "'" ~ f.name ~ "=' || " ~ raw -%}
    {#- an optional date, time or number in no known form does not cost the row (a shipment, a
        complaint): the value is NULL, the text kept in `<field>_unparsed` and listed in
        dictionary_gaps; a required one rejects the row -#}
    {%- if f.type == 'timestamp' -%}{%- if f.required -%}{%- do checks.append((bad, 'invalid_timestamp:' ~ f.name, shown)) -%}{%- endif -%}
    {%- elif f.type == 'date' -%}{%- if f.required -%}{%- do checks.append((bad, 'invalid_date:' ~ f.name, shown)) -%}{%- endif -%}
    {%- elif f.type in ['integer', 'decimal'] -%}{%- if f.required -%}{%- do checks.append((bad, 'invalid_number:' ~ f.name, shown)) -%}{%- endif -%}
        {#- a negative quantity is no quantity: quarantined, never subtracted -#}
        {%- if f.unit_kind == 'quantity' -%}
            {%- do checks.append((typed ~ ' < 0', 'negative_quantity:' ~ f.name, shown)) -%}
        {%- endif -%}
    {#- an unknown unit spelling is a dictionary gap, not a reject: the row is kept, its
        converted value is NULL (never guessed), the spelling stays in `<unit field>` with
        `<unit field>_is_known` false, and governance.dictionary_gaps lists it -#}
    {%- elif f.type == 'batch_code' and f.required -%}
        {%- do checks.append((bad, 'invalid_batch_code:' ~ f.name, shown)) -%}
    {#- a required serial (the serials' business key) that fits no serial pattern: the row is
        quarantined with the value shown, and the spelling listed in dictionary_gaps, until
        the owner adds its pattern (overlay `serial_patterns`); an optional one stays NULL -#}
    {%- elif f.type == 'serial' and f.required -%}
        {%- do checks.append((bad, 'invalid_serial:' ~ f.name, shown)) -%}
    {%- endif -%}
{%- endfor -%}
{%- for c in extra_rejects -%}{%- do checks.append(c) -%}{%- endfor -%}
{%- set pairs = [] %}
{%- for f in fields %}
    {%- set raw = 't.' ~ adapter.quote(f.name) %}
    {%- if f.pii and 'phone' in f.name %}{%- do pairs.append((f.name, mask_phone(raw))) %}
    {%- elif f.pii %}{%- do pairs.append((f.name, "case when " ~ blank_to_null(raw) ~ " is null then null else '***' end")) %}
    {%- else %}{%- do pairs.append((f.name, raw)) %}{%- endif %}
{%- endfor %}
{%- set keyed = [] %}
{%- for f in fields if not f.pii and f.type in keyed_types() %}{%- do keyed.append(f.name) %}{%- endfor %}
{%- set deduped = [] %}
{%- for f in fields if not f.pii and f.type in deduped_types() %}{%- do deduped.append(f.name) %}{%- endfor %}
with
{%- for name in deduped %}
{{ adapter.quote('__codes__' ~ name) }} as (
    select _qt_raw, {{ typed_value((fields | selectattr('name', 'equalto', name) | first), '_qt_raw') }} as _qt_value
    from (select distinct src.{{ adapter.quote(name) }} as _qt_raw from {{ src_rel }} as src) as _qt_distinct
),
{%- endfor %}
keyed as (
    select
        src.*,
    {%- for name in keyed %}
        {%- set kf = fields | selectattr('name', 'equalto', name) | first %}
        {%- if kf.type == 'unit' and markers.get('unit', []) | length > 0 %}
        {#- a unit `-` or `N/A` is no unit: no key, so a blank unit's default applies, no gap -#}
        case when {{ is_blank('src.' ~ adapter.quote(name), markers['unit'], markers['unit:ords']) }} then null
             else {{ conform_lookup_key('src.' ~ adapter.quote(name)) }} end as {{ adapter.quote('__key__' ~ name) }},
        {%- else %}
        {{ conform_lookup_key('src.' ~ adapter.quote(name)) }} as {{ adapter.quote('__key__' ~ name) }},
        {%- endif %}
    {%- endfor %}
    {%- for name in deduped %}
        {{ adapter.quote('__c__' ~ name) }}._qt_value as {{ adapter.quote('__d__' ~ name) }},
    {%- endfor %}
        1 as __keyed
    from {{ src_rel }} as src
    {%- for name in deduped %}
    left join {{ adapter.quote('__codes__' ~ name) }} as {{ adapter.quote('__c__' ~ name) }}
        on {{ adapter.quote('__c__' ~ name) }}._qt_raw = src.{{ adapter.quote(name) }}
    {%- endfor %}
),

typed as (
    select
        src.*,
    {%- for f in fields %}
        {{ is_blank('src.' ~ adapter.quote(f.name), [] if f.pii else markers.get(f.type, []),
                    [] if f.pii else markers.get(f.type ~ ':ords', [])) }} as {{ adapter.quote('__b__' ~ f.name) }},
    {%- endfor %}
    {%- for f in fields if not f.pii %}
        {%- set raw = 'src.' ~ adapter.quote(f.name) %}
        {%- set key = ('src.' ~ adapter.quote('__key__' ~ f.name)) if f.name in keyed else none %}
        {%- if f.name in deduped %}
        src.{{ adapter.quote('__d__' ~ f.name) }} as {{ adapter.quote('__t__' ~ f.name) }},
        {%- else %}
        {{ typed_value(f, raw, key) }} as {{ adapter.quote('__t__' ~ f.name) }},
        {%- endif %}
        {%- if f.type == 'unit' %}
        coalesce({{ unit_is_known(raw, f.unit_kind or 'any', unit_key=key) }}, false)
        {%- if f.unit_kind == 'by_parameter' %}
            and coalesce({{ unit_kind_of(raw, unit_key=key) }} = {{ conform_vocab_case('src.' ~ adapter.quote('__key__parameter'), 'parameter') if 'parameter' in keyed else conform_vocab('src.parameter', 'parameter') }}, false)
        {%- endif %} as {{ adapter.quote('__k__' ~ f.name) }},
        {%- endif %}
    {%- endfor %}
    {%- for name, expr in extra_columns.items() %}
        {{ expr }} as {{ adapter.quote('__x__' ~ name) }},
    {%- endfor %}
        1 as __typed
    from keyed as src
),

checked as (
    select
        t.*,
        case
        {%- for cond, reason, detail in checks %}
            when {{ cond }} then '{{ reason }}'
        {%- endfor %}
        end as _reject_reason,
        case
        {%- for cond, reason, detail in checks %}
            when {{ cond }} then {{ detail }}
        {%- endfor %}
        end as _reject_detail
    from typed as t
)

select
{%- for f in fields if not f.pii %}
    {%- set raw = 't.' ~ adapter.quote(f.name) %}
    {%- set typed = 't.' ~ adapter.quote('__t__' ~ f.name) %}
    {%- if f.unit_field and f.type in ['integer', 'decimal'] %}
    {{ conform_unit_value(typed, 't.' ~ adapter.quote(f.unit_field), f.unit_kind or 'any', default_unit_for(fields, f), value_is_number=true,
                          unit_key=('t.' ~ adapter.quote('__key__' ~ f.unit_field)) if f.unit_field in keyed else none) }} as {{ adapter.quote(f.name) }},
    {{ typed }} as {{ adapter.quote(f.name ~ '_as_delivered') }},
    {%- else %}
    {{ typed }} as {{ adapter.quote(f.name) }},
    {%- endif %}
    {%- if f.type in coded_types() %}
    case when not t.{{ adapter.quote('__b__' ~ f.name) }} then trim({{ raw }}) end as {{ adapter.quote(f.name ~ '_as_typed') }},
    {%- elif f.type in parsed_types() and not f.required %}
    case when not t.{{ adapter.quote('__b__' ~ f.name) }} and {{ typed }} is null then {{ raw }} end as {{ adapter.quote(f.name ~ '_unparsed') }},
    {%- endif %}
    {%- if f.type == 'batch_code' %}
    case when t.{{ adapter.quote('__b__' ~ f.name) }} then null when {{ typed }} is null then 'unmatched' else 'ok' end as {{ adapter.quote(f.name ~ '_flag') }},
    {%- elif f.type == 'province' %}
    {{ province_region(typed) }} as {{ adapter.quote(f.name ~ '_region') }},
    {%- elif f.type == 'unit' %}
    t.{{ adapter.quote('__k__' ~ f.name) }} as {{ adapter.quote(f.name ~ '_is_known') }},
    {%- endif %}
{%- endfor %}
{%- for name, expr in extra_columns.items() %}
    t.{{ adapter.quote('__x__' ~ name) }} as {{ adapter.quote(name) }},
{%- endfor %}
    t._extra,
    t._source_file,
    t._source_row,
    t._file_sha256,
    t._loaded_at,
    case when t._reject_reason is not null then {{ row_as_json(pairs) }} end as _raw_record,
    t._reject_reason,
    t._reject_detail
from checked as t
{%- endif -%}
{%- endmacro %}

{#- row_as_json(pairs) -> JSON object text from [(key, sql expr)] (pii already masked). -#}
{% macro row_as_json(pairs) -%}
    {{ return(adapter.dispatch('row_as_json', 'qualitrace')(pairs)) }}
{%- endmacro %}
{% macro default__row_as_json(pairs) -%}
    cast(json_object(
    {%- for k, e in pairs %}'{{ k }}', {{ e }}{{ ', ' if not loop.last }}{% endfor -%}
    ) as {{ dbt.type_string() }})
{%- endmacro %}
{% macro duckdb__row_as_json(pairs) -%}
    cast(to_json({
    {%- for k, e in pairs %}'{{ k }}': {{ e }}{{ ', ' if not loop.last }}{% endfor -%}
    }) as varchar)
{%- endmacro %}

{#- star_except(alias, columns) -> every column of alias except the named ones. -#}
{% macro star_except(alias, columns, relation=none) -%}
    {{ return(adapter.dispatch('star_except', 'qualitrace')(alias, columns, relation)) }}
{%- endmacro %}
{% macro default__star_except(alias, columns, relation) -%}
    {%- set cols = adapter.get_columns_in_relation(relation) if execute and relation is not none else [] -%}
    {%- for c in cols if c.name not in columns %}{{ alias }}.{{ adapter.quote(c.name) }}{{ ', ' if not loop.last }}{% endfor -%}
{%- endmacro %}
{% macro duckdb__star_except(alias, columns, relation) -%}
    {{ alias }}.* exclude ({{ columns | join(', ') }})
{%- endmacro %}
{% macro snowflake__star_except(alias, columns, relation) -%}
    {{ alias }}.* exclude ({{ columns | join(', ') }})
{%- endmacro %}
{% macro bigquery__star_except(alias, columns, relation) -%}
    {{ alias }}.* except ({{ columns | join(', ') }})
{%- endmacro %}
