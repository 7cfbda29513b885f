{#- Fails for every row where `column_name` exceeds `other` (both not NULL): e.g. a batch that
    shipped more units than it produced, a data-trust signal between two systems' exports. -#}
{% test at_most(model, column_name, other) %}
select {{ column_name }}, {{ other }}
from {{ model }}
where {{ column_name }} is not null and {{ other }} is not null and {{ column_name }} > {{ other }}
{% endtest %}
