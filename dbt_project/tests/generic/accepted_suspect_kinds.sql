{#- Fails for every suspect kind that is not one of `values`, or a pair of two of them joined
    by '+' (combined suspects: line+shift). -#}
{% test accepted_suspect_kinds(model, column_name, values) %}
{%- set listed = "'" ~ (values | join("', '")) ~ "'" -%}
select {{ column_name }} as suspect_kind, count(*) as occurrences
from {{ model }}
where {{ column_name }} is not null
  and not (
        {{ column_name }} in ({{ listed }})
        or ({{ dbt.split_part(column_name, "'+'", 1) }} in ({{ listed }})
            and {{ dbt.split_part(column_name, "'+'", 2) }} in ({{ listed }})
            and {{ dbt.split_part(column_name, "'+'", 1) }} <> {{ dbt.split_part(column_name, "'+'", 2) }}
            and {{ dbt.length(column_name) }} = {{ dbt.length(dbt.split_part(column_name, "'+'", 1)) }}
                + {{ dbt.length(dbt.split_part(column_name, "'+'", 2)) }} + 1)
  )
group by {{ column_name }}
{% endtest %}
