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
    translate(cast({{ expr }} as {{ dbt.type_string() }}),
        '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　',
        '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ')
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
