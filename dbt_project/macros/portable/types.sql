{#- as_integer(expr): a count or a number of pieces as a 64-bit integer. Sums of integers come
    out of some engines as 128-bit integers (DuckDB HUGEINT) and units converted through a
    factor as doubles; the published marts keep counts as integers (in DuckDB and Parquet). -#}
{% macro as_integer(expr) -%}
    cast({{ expr }} as {{ dbt.type_bigint() }})
{%- endmacro %}
