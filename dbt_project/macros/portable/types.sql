{#- as_integer(expr): a count or a number of pieces as a 64-bit integer. Sums of integers come
    out of some engines as 128-bit integers (DuckDB HUGEINT) and units converted through a
    factor as doubles; the published marts keep counts as integers (in DuckDB and Parquet). -#}
{% macro as_integer(expr) -%}
    cast({{ expr }} as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- id_list(expr): a comma-separated id list ('A,B,C', as the contract's string columns hold it)
    as a list column (DuckDB VARCHAR[], Spark array<string>), NULL when blank. The string
    columns stay for the contract; the *_list twins are for analysts who filter with
    list_contains / array_contains or unnest. -#}
{% macro id_list(expr) -%}
    {{ return(adapter.dispatch('id_list', 'qualitrace')(expr)) }}
{%- endmacro %}
{% macro default__id_list(expr) -%}
    case when nullif(trim({{ expr }}), '') is not null then split({{ expr }}, ',') end
{%- endmacro %}
{% macro duckdb__id_list(expr) -%}
    case when nullif(trim({{ expr }}), '') is not null
         then list_transform(string_split({{ expr }}, ','), lambda _id: trim(_id)) end
{%- endmacro %}
