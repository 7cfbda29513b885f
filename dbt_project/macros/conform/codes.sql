{#-
  Coded values (dictionary.vocabularies, dictionary.provinces/.province_aliases, compile time):
    conform_vocab(expr, domain)   -> canonical value of the domain ('hotline', 'in_progress', 'IQC'), or NULL
    vocab_is_known(expr, domain)  -> boolean (NULL when blank)
    conform_status(expr)          -> 'open' | 'in_progress' | 'closed'
    conform_channel(expr)         -> 'hotline' | 'wechat' | 'email' | 'store' | 'marketplace' | 'app'
    conform_inspection_type(expr) -> 'IQC' | 'IPQC' | 'FQC' | 'OQC'
    conform_parameter(expr)       -> 'temperature' | 'pressure' | 'speed' | 'humidity'
    conform_equipment_type(expr)  -> e.g. 'smt_placer'
    conform_shift(expr)           -> 'day' | 'swing' | 'night'
    conform_pass_fail(expr)       -> boolean (合格/PASS/OK/Y/1 -> true; 不合格/FAIL/NG/N/0 -> false)
    conform_boolean(expr)         -> boolean (是/否, Y/N, 1/0, TRUE/FALSE)
    conform_severity(expr)        -> integer 1-10 (紧急/Critical 10, 高/High 8, 中/Medium 5, 低/Low 2)
    conform_line(expr)            -> 'L02' from 'L2', '2', '2号线', 'L02', 'Line 2', '二号线'
    conform_province(expr)        -> GB/T 2260 code ('440000') from 广东省/广东/Guangdong/GD/粤
    province_region(code_expr)    -> macro-region (华东 华南 华北 华中 西南 西北 东北)
    province_name(code_expr)      -> short Chinese name (广东)
-#}
{% macro conform_vocab_case(key_expr, domain, column='canonical') -%}
    {%- set rows = conform_dictionary_rows("select spelling_normalized, " ~ column ~ " from " ~ dictionary_table('vocabularies') ~ " where domain = " ~ conform_sql_string(domain) ~ " order by spelling_normalized") -%}
    {%- set pairs = [] -%}
    {%- for r in rows -%}{%- do pairs.append((r[0], conform_sql_string(r[1]))) -%}{%- endfor -%}
    {{ conform_lookup(key_expr, pairs) }}
{%- endmacro %}

{% macro conform_vocab(expr, domain) -%}
    {{ conform_vocab_case(conform_lookup_key(expr), domain) }}
{%- endmacro %}

{% macro vocab_is_known(expr, domain) -%}
    case when {{ conform_lookup_key(expr) }} is null then null
         else {{ conform_vocab(expr, domain) }} is not null end
{%- endmacro %}

{% macro conform_status(expr) -%}{{ conform_vocab(expr, 'status') }}{%- endmacro %}
{% macro conform_channel(expr) -%}{{ conform_vocab(expr, 'channel') }}{%- endmacro %}
{% macro conform_inspection_type(expr) -%}{{ conform_vocab(expr, 'inspection_type') }}{%- endmacro %}
{% macro conform_parameter(expr) -%}{{ conform_vocab(expr, 'parameter') }}{%- endmacro %}
{% macro conform_equipment_type(expr) -%}{{ conform_vocab(expr, 'equipment_type') }}{%- endmacro %}
{% macro conform_shift(expr) -%}{{ conform_vocab(expr, 'shift') }}{%- endmacro %}

{% macro conform_pass_fail(expr) -%}
    ({{ conform_vocab(expr, 'pass_fail') }} = 'true')
{%- endmacro %}

{% macro conform_boolean(expr) -%}
    ({{ conform_vocab(expr, 'boolean') }} = 'true')
{%- endmacro %}

{% macro conform_severity(expr) -%}
    case
        when {{ conform_re_full_match(conform_lookup_key(expr), '0*([1-9]|10)(\\.0+)?') }}
            then cast(cast({{ conform_lookup_key(expr) }} as {{ "double" }}) as integer)
        else cast({{ conform_vocab(expr, 'severity') }} as integer)
    end
{%- endmacro %}

{% macro conform_line(expr) -%}
    coalesce(
        {{ conform_vocab(expr, 'line') }},
        case when {{ conform_re_full_match(conform_lookup_key(expr), '(?:LINE|L|产线|线)?#?0*([1-9][0-9]?)(?:号线|号|线|#)?') }}
             then 'L' || lpad({{ conform_re_replace(conform_lookup_key(expr), '^(?:LINE|L|产线|线)?#?0*([1-9][0-9]?)(?:号线|号|线|#)?$', '\\1') }}, 2, '0')
        end
    )
{%- endmacro %}

{#- conform_province(expr): the GB/T 2260 code of an exact alias, else of the longest alias
    usable as a prefix (dictionary.province_aliases.usable_as_prefix: Chinese names, long Latin
    names) that the text starts with: an address `广东省深圳市南山区…` names 440000. Mirror:
    orchestration.lib.dictionary.loader.province_from_text. -#}
{% macro conform_province(expr) -%}
    {%- set rows = conform_dictionary_rows("select alias_normalized, code, usable_as_prefix from " ~ dictionary_table('province_aliases') ~ " order by length(alias_normalized) desc, code, alias_normalized") -%}
    {%- set pairs = [] -%}
    {%- set prefixes = [] -%}
    {%- for r in rows -%}
        {%- do pairs.append((r[0], conform_sql_string(r[1]))) -%}
        {%- if r[2] -%}{%- do prefixes.append(r) -%}{%- endif -%}
    {%- endfor -%}
    {%- set key = conform_lookup_key(expr) -%}
    {%- if prefixes | length == 0 -%}
    {{ conform_lookup(key, pairs) }}
    {%- else -%}
    coalesce({{ conform_lookup(key, pairs) }}, case
        {%- for r in prefixes %}
        when substring({{ key }}, 1, {{ r[0] | length }}) = {{ conform_sql_string(r[0]) }} then {{ conform_sql_string(r[1]) }}
        {%- endfor %}
    end)
    {%- endif -%}
{%- endmacro %}

{% macro conform_province_column(code_expr, column) -%}
    {%- set rows = conform_dictionary_rows("select code, " ~ column ~ " from " ~ dictionary_table('provinces') ~ " order by code") -%}
    {%- set pairs = [] -%}
    {%- for r in rows -%}{%- do pairs.append((r[0], conform_sql_string(r[1]))) -%}{%- endfor -%}
    {{ conform_lookup(code_expr, pairs) }}
{%- endmacro %}

{% macro province_region(code_expr) -%}{{ conform_province_column(code_expr, 'region') }}{%- endmacro %}
{% macro province_name(code_expr) -%}{{ conform_province_column(code_expr, 'short_name') }}{%- endmacro %}
