{#-
  Problem classification from the complaint description (dictionary.problem_keywords,
  .problem_negations, .problem_types; compile time). Precedence: safety (category precedence 1)
  first, then the problem mentioned first; a negated keyword (没有异响, no leak) does not count,
  nor one inside an ignore phrase (problem_keywords rows without a code: 没有驱动问题).
    problem_text(expr)                -> width-folded, lower-case description
    problem_matches(description_expr) -> list of problem codes in order of first mention
                                         (DuckDB list; compute once per row in a CTE)
    problem_evidence(description_expr) -> the keywords that decided, in order of mention:
                                         '噪音→QD05; driver→FN03' (NULL when none matched)
    problem_primary(matches_expr)     -> primary code, 'UNCLASSIFIED' when the list is empty
    problem_secondary(matches_expr)   -> the other codes, comma-separated by precedence then
                                         mention, NULL when none
    classify_problem(description_expr)  -> problem_primary(problem_matches(description_expr))
    problem_secondary_codes(description_expr) -> problem_secondary(problem_matches(...))
    problem_category(code_expr)       -> 'QD' | 'DL' | 'FN' | 'SF' (first two letters), or
                                         'UNCLASSIFIED'
    problem_category_name(code_expr, lang='en') -> category name ('Safety' / '使用安全')
  Usage in a model:
    with m as (select *, {{ problem_matches('description') }} as _pm from src)
    select *, {{ problem_primary('_pm') }} as problem_type_code,
              {{ problem_secondary('_pm') }} as secondary_problem_codes from m
-#}
{% macro problem_text(expr) -%}
    lower({{ conform_width(expr) }})
{%- endmacro %}

{% macro problem_regexes() -%}
    {%- set kws = conform_dictionary_rows("select code, keyword_regex from " ~ dictionary_table('problem_keywords') ~ " order by length(keyword_normalized) desc, code, keyword_regex") -%}
    {%- set negs = conform_dictionary_rows("select prefix_regex from " ~ dictionary_table('problem_negations') ~ " order by length(prefix_normalized) desc") -%}
    {%- set per_code = {} -%}
    {%- set all_alts = [] -%}
    {%- for k in kws -%}
        {%- do all_alts.append(k[1]) -%}
        {%- if k[0] is none -%}{%- continue -%}{%- endif -%}  {#- an ignore phrase: no code -#}
        {%- if k[0] not in per_code -%}{%- do per_code.update({k[0]: []}) -%}{%- endif -%}
        {%- do per_code[k[0]].append(k[1]) -%}
    {%- endfor -%}
    {%- set neg_alts = [] -%}
    {%- for n in negs -%}{%- do neg_alts.append(n[0]) -%}{%- endfor -%}
    {%- set kw_group = '(?:' ~ (all_alts | join('|')) ~ ')' -%}
    {%- set neg_group = ('(?:' ~ (neg_alts | join('|')) ~ ')' ~ kw_group) if neg_alts | length > 0 else none -%}
    {%- set scan = (all_alts | join('|')) ~ (('|' ~ neg_group) if neg_group else '') -%}
    {{ return({'scan': scan, 'per_code': per_code, 'codes': per_code.keys() | sort}) }}
{%- endmacro %}

{#- the code a scanned token stands for (NULL for a negated mention), or 'token→code' -#}
{% macro problem_token_case(tok, r, with_token=false) -%}
    case
        {%- for c in r['codes'] %}
        when {{ conform_re_full_match(tok, r['per_code'][c] | join('|')) }} then {% if with_token %}{{ tok }} || '→{{ c }}'{% else %}'{{ c }}'{% endif %}
        {%- endfor %}
    end
{%- endmacro %}

{% macro problem_matches(description_expr) -%}
    {{ return(adapter.dispatch('problem_matches', 'qualitrace')(description_expr)) }}
{%- endmacro %}

{% macro duckdb__problem_matches(description_expr) -%}
    {%- set r = problem_regexes() -%}
    {%- if r['codes'] | length == 0 -%}
        cast([] as varchar[])
    {%- else -%}
    list_filter(
        list_transform({{ conform_re_extract_all(problem_text(description_expr), r['scan']) }},
                       lambda _tok: {{ problem_token_case('_tok', r) }}),
        lambda _code: _code is not null
    )
    {%- endif -%}
{%- endmacro %}

{% macro problem_evidence(description_expr) -%}
    {{ return(adapter.dispatch('problem_evidence', 'qualitrace')(description_expr)) }}
{%- endmacro %}

{% macro duckdb__problem_evidence(description_expr) -%}
    {%- set r = problem_regexes() -%}
    {%- if r['codes'] | length == 0 -%}
        cast(null as varchar)
    {%- else -%}
    nullif(array_to_string(list_filter(
        list_transform({{ conform_re_extract_all(problem_text(description_expr), r['scan']) }},
                       lambda _tok: {{ problem_token_case('_tok', r, with_token=true) }}),
        lambda _e: _e is not null
    ), '; '), '')
    {%- endif -%}
{%- endmacro %}

{% macro problem_precedence_case(code_expr) -%}
    {%- set rows = conform_dictionary_rows("select distinct category, precedence from " ~ dictionary_table('problem_types') ~ " order by category") -%}
    case left({{ code_expr }}, 2)
        {%- for r in rows %}
        when '{{ r[0] }}' then '{{ r[1] }}'
        {%- endfor %}
        else '9'
    end
{%- endmacro %}

{#- codes ordered by precedence then first mention, duplicates removed -#}
{% macro problem_ranked(matches_expr) -%}
    {{ return(adapter.dispatch('problem_ranked', 'qualitrace')(matches_expr)) }}
{%- endmacro %}
{% macro duckdb__problem_ranked(matches_expr) -%}
    list_transform(
        list_sort(list_transform(
            list_filter({{ matches_expr }}, lambda _c, _i: list_position({{ matches_expr }}, _c) = _i),
            lambda _c, _i: {{ problem_precedence_case('_c') }} || lpad(cast(_i as varchar), 4, '0') || _c
        )),
        lambda _k: _k[6:]
    )
{%- endmacro %}

{% macro problem_primary(matches_expr) -%}
    coalesce({{ list_first('(' ~ problem_ranked(matches_expr) ~ ')') }}, 'UNCLASSIFIED')
{%- endmacro %}

{% macro problem_secondary(matches_expr) -%}
    {{ list_rest_joined('(' ~ problem_ranked(matches_expr) ~ ')', ',') }}
{%- endmacro %}

{#- list_first(list) -> its first element (NULL when empty); list_rest_joined(list, delimiter)
    -> the elements after the first joined, NULL when there are none -#}
{% macro list_first(list_expr) -%}
    {{ return(adapter.dispatch('list_first', 'qualitrace')(list_expr)) }}
{%- endmacro %}
{% macro default__list_first(list_expr) -%}
    {{ list_expr }}[1]
{%- endmacro %}
{% macro list_rest_joined(list_expr, delimiter) -%}
    {{ return(adapter.dispatch('list_rest_joined', 'qualitrace')(list_expr, delimiter)) }}
{%- endmacro %}
{% macro default__list_rest_joined(list_expr, delimiter) -%}
    nullif(array_to_string({{ list_expr }}[2:], {{ conform_sql_string(delimiter) }}), '')
{%- endmacro %}

{% macro classify_problem(description_expr) -%}
    {{ problem_primary('(' ~ problem_matches(description_expr) ~ ')') }}
{%- endmacro %}

{% macro problem_secondary_codes(description_expr) -%}
    {{ problem_secondary('(' ~ problem_matches(description_expr) ~ ')') }}
{%- endmacro %}

{% macro problem_category(code_expr) -%}
    case when {{ code_expr }} is null then null
         when {{ code_expr }} = 'UNCLASSIFIED' then 'UNCLASSIFIED'
         else left({{ code_expr }}, 2) end
{%- endmacro %}

{% macro problem_category_name(code_expr, lang='en') -%}
    {%- set rows = conform_dictionary_rows("select distinct category, category_" ~ lang ~ " from " ~ dictionary_table('problem_types') ~ " order by category") -%}
    case left({{ code_expr }}, 2)
        {%- for r in rows %}
        when '{{ r[0] }}' then {{ conform_sql_string(r[1]) }}
        {%- endfor %}
    end
{%- endmacro %}
