{#-
  Text normalisation (mirrored in Python by orchestration.lib.dictionary.normalize):
    conform_width(expr)      -> full-width ASCII (U+FF01-FF5E) and U+3000 folded to ASCII
    conform_text_code(expr)  -> conform_width, trimmed, upper case; blank -> NULL
    conform_lookup_key(expr) -> conform_text_code without any whitespace (the key every
                                dictionary.*.spelling_normalized / alias_normalized column uses)
    conform_number(expr)     -> double: width-folded, thousands separators and spaces dropped;
                                NULL when not a number
-#}
{% macro conform_width(expr) -%}
    {{ return(adapter.dispatch('conform_width', 'qualitrace')(expr)) }}
{%- endmacro %}
{% macro conform_width_translate(expr) -%}
    translate(cast({{ expr }} as {{ dbt.type_string() }}),
        '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　',
        '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ')
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

{% macro conform_text_code(expr) -%}
    nullif(upper({{ conform_re_replace(conform_width(expr), '^[\\t\\n\\f\\r ]+|[\\t\\n\\f\\r ]+$', '') }}), '')
{%- endmacro %}

{% macro conform_lookup_key(expr) -%}
    nullif(upper({{ conform_re_replace(conform_width(expr), '[\\t\\n\\f\\r ]+', '') }}), '')
{%- endmacro %}

{% macro conform_number(expr) -%}
    {{ conform_try_cast(conform_re_replace(conform_width(expr), '[\\t\\n\\f\\r ,]+', ''), "double") }}
{%- endmacro %}
