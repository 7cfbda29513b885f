{#-
  Text normalisation (mirrored in Python by orchestration.lib.dictionary.normalize):
    conform_width(expr)      -> full-width ASCII (U+FF01-FF5E) and U+3000 folded to ASCII
    conform_text_code(expr)  -> conform_width, trimmed, upper case; blank -> NULL
    conform_lookup_key(expr) -> conform_text_code without any whitespace (the key every
                                dictionary.*.spelling_normalized / alias_normalized column uses)
    conform_number(expr)     -> double: width-folded, thousands separators and spaces dropped;
                                NULL when not a number
  Fast paths (byte-identical results, proved by tests/test_conform_fastpath.py): a value that
  is "plain" (conform_plain_pattern: not empty, no whitespace, no full-width character, for
  numbers also no comma) is left unchanged by the width fold and the whitespace regexes, so
  it skips them: conform_text_code / conform_lookup_key -> upper(value), conform_number ->
  try_cast(value as double). Almost every delivered value is plain, and CASE runs the
  general expression (conform_*_general, the reference behaviour) only on the other rows.
    conform_as_text(expr)            -> expr cast to the string type
    conform_plain_pattern(extra='')  -> regex of a plain value (extra: more excluded chars)
-#}
{% macro conform_width(expr) -%}
    {{ return(adapter.dispatch('conform_width', 'qualitrace')(expr)) }}
{%- endmacro %}
{% macro conform_width_translate(expr) -%}
    {%- set full_width -%}！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　{% endset -%}
    {%- set ascii -%}!"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ {% endset -%}
    translate(cast({{ expr }} as {{ dbt.type_string() }}),
        {{ conform_sql_string(full_width) }},
        {{ conform_sql_string(ascii) }})
{%- endmacro %}
{% macro default__conform_width(expr) -%}
    {{ conform_width_translate(expr) }}
{%- endmacro %}
{#- DuckDB's translate is slow (~20 µs a value): only call it when a full-width character is there -#}
{% macro duckdb__conform_width(expr) -%}
    case when regexp_matches(cast({{ expr }} as varchar), '[！-～　]')
         then {{ conform_width_translate(expr) }}
         else cast({{ expr }} as varchar) end
{%- endmacro %}

{% macro conform_as_text(expr) -%}
    cast({{ expr }} as {{ dbt.type_string() }})
{%- endmacro %}

{#- Whitespace as the general expressions see it ([\t\n\f\r ]) and the full-width block
    conform_width folds; a plain value contains neither. -#}
{% macro conform_plain_pattern(extra='') -%}
    {{ return('[^\\t\\n\\f\\r ' ~ extra ~ '！-～　]+') }}
{%- endmacro %}

{% macro conform_text_code(expr) -%}
    case when {{ conform_re_full_match(conform_as_text(expr), conform_plain_pattern()) }}
         then upper({{ conform_as_text(expr) }})
         else {{ conform_text_code_general(expr) }} end
{%- endmacro %}
{% macro conform_text_code_general(expr) -%}
    nullif(upper({{ conform_re_replace(conform_width(expr), '^[\\t\\n\\f\\r ]+|[\\t\\n\\f\\r ]+$', '') }}), '')
{%- endmacro %}

{% macro conform_lookup_key(expr) -%}
    case when {{ conform_re_full_match(conform_as_text(expr), conform_plain_pattern()) }}
         then upper({{ conform_as_text(expr) }})
         else {{ conform_lookup_key_general(expr) }} end
{%- endmacro %}
{% macro conform_lookup_key_general(expr) -%}
    nullif(upper({{ conform_re_replace(conform_width(expr), '[\\t\\n\\f\\r ]+', '') }}), '')
{%- endmacro %}

{#- conform_number(expr): a finite number, or NULL (the row is then rejected invalid_number
    where the value is required or typed). `inf`, `NaN`, `1e400` are no numbers. Spaces and
    full-width digits are folded; `1,500` / `1,500.25` are thousands separators; `1,5` and
    `12,50` (a comma followed by other than groups of three digits) are decimal commas. -#}
{% macro conform_number(expr) -%}
    case when {{ conform_re_full_match(conform_as_text(expr), conform_plain_pattern(',')) }}
         then {{ conform_finite(conform_try_cast(conform_as_text(expr), "double")) }}
         else {{ conform_number_general(expr) }} end
{%- endmacro %}
{% macro conform_number_general(expr) -%}
    {%- set t = conform_re_replace(conform_width(expr), '[\\t\\n\\f\\r ]+', '') -%}
    case
        when {{ conform_re_full_match(t, '[+-]?[0-9]{1,3}(,[0-9]{3})+([.][0-9]+)?') }}
            then {{ conform_finite(conform_try_cast("replace(" ~ t ~ ", ',', '')", "double")) }}
        when {{ conform_re_full_match(t, '[+-]?[0-9]+,[0-9]+') }}
            then {{ conform_finite(conform_try_cast("replace(" ~ t ~ ", ',', '.')", "double")) }}
        {# European: dots group thousands before a decimal comma (1.234,5): not ambiguous #}
        when {{ conform_re_full_match(t, '[+-]?[0-9]{1,3}([.][0-9]{3})+,[0-9]+') }}
            then {{ conform_finite(conform_try_cast("replace(replace(" ~ t ~ ", '.', ''), ',', '.')", "double")) }}
        else {{ conform_finite(conform_try_cast(t, "double")) }}
    end
{%- endmacro %}
{#- conform_finite(x): x when it is a finite number, else NULL (inf - inf and NaN - NaN are
    NaN, never 0). -#}
{% macro conform_finite(x) -%}
    case when ({{ x }}) - ({{ x }}) = 0 then ({{ x }}) end
{%- endmacro %}
