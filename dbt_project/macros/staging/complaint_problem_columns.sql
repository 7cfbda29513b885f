{#-
  complaint_problem_columns(description_expr) -> the select-list items
    problem_type_code, problem_category, secondary_problem_codes
  from the dictionary engineer's classifier (macros/conform: classify_problem); a complaint
  whose description matches nothing is 'UNCLASSIFIED' (kept, reported in dictionary_gaps).
-#}
{% macro complaint_problem_columns(description_expr) -%}
    {%- if classify_problem is defined -%}
    {{ classify_problem(description_expr) }}
    {%- else -%}
    'UNCLASSIFIED' as problem_type_code,
    'UNCLASSIFIED' as problem_category,
    cast(null as {{ dbt.type_string() }}) as secondary_problem_codes
    {%- endif -%}
{%- endmacro %}
