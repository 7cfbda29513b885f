{#-
  Units (dictionary.units, read at compile time). unit_kind: a kind from data_dictionary/units.yml
  ('quantity', 'mass', 'length', 'temperature', 'pressure', 'speed', 'humidity') or 'any' /
  'by_parameter' (every kind: spellings are unique across kinds).
    conform_unit_value(value_expr, unit_expr, unit_kind, default_unit=none)
        -> value in the kind's canonical unit (value * factor + offset): °F, K, g, lb, psi ...;
           NULL when the value is not a number or the unit is unknown; a blank unit means
           default_unit when given (e.g. 'pcs'), else NULL; value_is_number=true: value_expr is
           already numeric (conformed), so it is not read back through conform_number (a
           double -> text -> double round trip that returns the same value)
    unit_is_known(unit_expr, unit_kind) -> boolean (NULL when the unit is blank)
    conform_unit(unit_expr, unit_kind)  -> the unit's canonical spelling ('°F', 'kg'), or NULL
    canonical_unit(unit_expr, unit_kind) -> the canonical unit of the unit's kind ('°C', 'kg')
    unit_kind_of(unit_expr)             -> the unit's kind ('temperature'), or NULL
  unit_key (optional, every macro above): an expression already equal to
  conform_lookup_key(unit_expr), e.g. a column computed once per row (staging_base does), so
  the key is not recomputed for each lookup.
-#}
{% macro conform_unit_rows(unit_kind) -%}
    {%- if unit_kind in ('any', 'by_parameter', none) -%}
        {{ return(conform_dictionary_rows("select spelling_normalized, factor, " ~ adapter.quote("offset") ~ ", unit, canonical_unit, unit_kind from " ~ dictionary_table('units') ~ " order by unit_kind, spelling_normalized")) }}
    {%- else -%}
        {{ return(conform_dictionary_rows("select spelling_normalized, factor, " ~ adapter.quote("offset") ~ ", unit, canonical_unit, unit_kind from " ~ dictionary_table('units') ~ " where unit_kind = " ~ conform_sql_string(unit_kind) ~ " order by spelling_normalized")) }}
    {%- endif -%}
{%- endmacro %}

{% macro conform_unit_key(unit_expr, default_unit=none, unit_key=none) -%}
    {%- set key = unit_key if unit_key is not none else conform_lookup_key(unit_expr) -%}
    {%- if default_unit is not none -%}
        coalesce({{ key }}, {{ conform_sql_string(default_unit | upper) }})
    {%- else -%}
        {{ key }}
    {%- endif -%}
{%- endmacro %}

{% macro conform_unit_value(value_expr, unit_expr, unit_kind, default_unit=none, value_is_number=false, unit_key=none) -%}
    {%- set rows = conform_unit_rows(unit_kind) -%}
    {%- set number = conform_finite('cast(' ~ value_expr ~ ' as double)') if value_is_number else conform_number(value_expr) -%}
    {%- set factors, offsets = [], [] -%}
    {%- for r in rows -%}
        {%- do factors.append((r[0], r[1] | string)) -%}
        {%- do offsets.append((r[0], r[2] | string)) -%}
    {%- endfor -%}
    ({{ number }} * {{ conform_lookup(conform_unit_key(unit_expr, default_unit, unit_key), factors, 'double') }}
        + {{ conform_lookup(conform_unit_key(unit_expr, default_unit, unit_key), offsets, 'double') }})
{%- endmacro %}

{% macro conform_unit_lookup(unit_expr, unit_kind, column, default_unit=none, unit_key=none) -%}
    {%- set rows = conform_unit_rows(unit_kind) -%}
    {%- set col = {'unit': 3, 'canonical_unit': 4, 'unit_kind': 5}[column] -%}
    {%- set pairs = [] -%}
    {%- for r in rows -%}{%- do pairs.append((r[0], conform_sql_string(r[col]))) -%}{%- endfor -%}
    {{ conform_lookup(conform_unit_key(unit_expr, default_unit, unit_key), pairs) }}
{%- endmacro %}

{% macro unit_is_known(unit_expr, unit_kind, default_unit=none, unit_key=none) -%}
    case when {{ conform_unit_key(unit_expr, default_unit, unit_key) }} is null then null
         else {{ conform_unit_lookup(unit_expr, unit_kind, 'unit', default_unit, unit_key) }} is not null end
{%- endmacro %}

{% macro conform_unit(unit_expr, unit_kind, default_unit=none) -%}
    {{ conform_unit_lookup(unit_expr, unit_kind, 'unit', default_unit) }}
{%- endmacro %}

{% macro canonical_unit(unit_expr, unit_kind, default_unit=none) -%}
    {{ conform_unit_lookup(unit_expr, unit_kind, 'canonical_unit', default_unit) }}
{%- endmacro %}

{% macro unit_kind_of(unit_expr, unit_key=none) -%}
    {{ conform_unit_lookup(unit_expr, 'any', 'unit_kind', none, unit_key) }}
{%- endmacro %}
