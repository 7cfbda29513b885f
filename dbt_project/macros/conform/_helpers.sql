{#-
  Helpers for the conformance macros (dbt_project/macros/conform/). Signatures:
    conform_dictionary_rows(sql)                 -> rows of a query on dictionary tables at compile time
                                                    ([] while parsing, when `execute` is false)
    conform_sql_string(text)                     -> a quoted SQL string literal
    conform_re_matches(expr, pattern)            -> boolean, pattern (Python str) found anywhere
    conform_re_full_match(expr, pattern)         -> boolean, whole value matches
    conform_re_replace(expr, pattern, replacement) -> every match replaced (\1 back-references)
    conform_re_extract_all(expr, pattern)        -> list of every non-overlapping match (DuckDB list)
    conform_try_strptime(expr, format)           -> timestamp or NULL
    conform_local_to_utc(ts_expr)                -> naive plant-local timestamp (var plant_timezone)
                                                    -> naive UTC timestamp
    conform_utc_to_local(ts_expr)                -> the reverse
-#}
{% macro conform_dictionary_rows(sql) -%}
    {%- if execute -%}
        {{ return(run_query(sql).rows) }}
    {%- else -%}
        {{ return([]) }}
    {%- endif -%}
{%- endmacro %}

{% macro conform_sql_string(text) -%}
    {{ return(adapter.dispatch('conform_sql_string', 'qualitrace')(text)) }}
{%- endmacro %}
{% macro default__conform_sql_string(text) -%}
    '{{ text | string | replace("'", "''") }}'
{%- endmacro %}

{% macro conform_re_matches(expr, pattern) -%}
    {{ return(adapter.dispatch('conform_re_matches', 'qualitrace')(expr, pattern)) }}
{%- endmacro %}
{% macro default__conform_re_matches(expr, pattern) -%}
    regexp_like({{ expr }}, {{ conform_sql_string(pattern) }})
{%- endmacro %}
{% macro duckdb__conform_re_matches(expr, pattern) -%}
    regexp_matches({{ expr }}, {{ conform_sql_string(pattern) }})
{%- endmacro %}

{% macro conform_re_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('conform_re_full_match', 'qualitrace')(expr, pattern)) }}
{%- endmacro %}
{% macro default__conform_re_full_match(expr, pattern) -%}
    regexp_like({{ expr }}, {{ conform_sql_string('^(?:' ~ pattern ~ ')$') }})
{%- endmacro %}
{% macro duckdb__conform_re_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, {{ conform_sql_string(pattern) }})
{%- endmacro %}

{% macro conform_re_replace(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('conform_re_replace', 'qualitrace')(expr, pattern, replacement)) }}
{%- endmacro %}
{% macro default__conform_re_replace(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ conform_sql_string(pattern) }}, {{ conform_sql_string(replacement) }})
{%- endmacro %}
{% macro duckdb__conform_re_replace(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ conform_sql_string(pattern) }}, {{ conform_sql_string(replacement) }}, 'g')
{%- endmacro %}

{% macro conform_re_extract_all(expr, pattern) -%}
    {{ return(adapter.dispatch('conform_re_extract_all', 'qualitrace')(expr, pattern)) }}
{%- endmacro %}
{% macro default__conform_re_extract_all(expr, pattern) -%}
    regexp_extract_all({{ expr }}, {{ conform_sql_string(pattern) }})
{%- endmacro %}

{% macro conform_try_strptime(expr, format) -%}
    {{ return(adapter.dispatch('conform_try_strptime', 'qualitrace')(expr, format)) }}
{%- endmacro %}
{% macro default__conform_try_strptime(expr, format) -%}
    try_to_timestamp({{ expr }}, {{ conform_sql_string(format) }})
{%- endmacro %}
{% macro duckdb__conform_try_strptime(expr, format) -%}
    try_strptime({{ expr }}, {{ conform_sql_string(format) }})
{%- endmacro %}

{% macro conform_local_to_utc(ts_expr) -%}
    {{ return(adapter.dispatch('conform_local_to_utc', 'qualitrace')(ts_expr)) }}
{%- endmacro %}
{% macro default__conform_local_to_utc(ts_expr) -%}
    (({{ ts_expr }}) at time zone '{{ var("plant_timezone", "Asia/Shanghai") }}' at time zone 'UTC')
{%- endmacro %}
{% macro duckdb__conform_local_to_utc(ts_expr) -%}
    timezone('UTC', timezone('{{ var("plant_timezone", "Asia/Shanghai") }}', cast({{ ts_expr }} as timestamp)))
{%- endmacro %}

{% macro conform_utc_to_local(ts_expr) -%}
    {{ return(adapter.dispatch('conform_utc_to_local', 'qualitrace')(ts_expr)) }}
{%- endmacro %}
{% macro default__conform_utc_to_local(ts_expr) -%}
    (({{ ts_expr }}) at time zone 'UTC' at time zone '{{ var("plant_timezone", "Asia/Shanghai") }}')
{%- endmacro %}
{% macro duckdb__conform_utc_to_local(ts_expr) -%}
    timezone('{{ var("plant_timezone", "Asia/Shanghai") }}', timezone('UTC', cast({{ ts_expr }} as timestamp)))
{%- endmacro %}

{#- conform_try_cast(expr, type) -> NULL instead of an error when the cast fails -#}
{% macro conform_try_cast(expr, type) -%}
    {{ return(adapter.dispatch('conform_try_cast', 'qualitrace')(expr, type)) }}
{%- endmacro %}
{% macro default__conform_try_cast(expr, type) -%}
    {{ dbt.safe_cast(expr, type) }}
{%- endmacro %}
{% macro duckdb__conform_try_cast(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}

{#- conform_add_ms(ts_expr, ms_expr) -> timestamp + a (possibly large) number of milliseconds -#}
{% macro conform_add_ms(ts_expr, ms_expr) -%}
    {{ return(adapter.dispatch('conform_add_ms', 'qualitrace')(ts_expr, ms_expr)) }}
{%- endmacro %}
{% macro default__conform_add_ms(ts_expr, ms_expr) -%}
    {{ dbt.dateadd('millisecond', ms_expr, ts_expr) }}
{%- endmacro %}
{% macro duckdb__conform_add_ms(ts_expr, ms_expr) -%}
    ({{ ts_expr }} + to_milliseconds(cast({{ ms_expr }} as bigint)))
{%- endmacro %}

{#- conform_lookup(key_expr, pairs, value_type) -> the value for key_expr in pairs, a list of
    (key text, value SQL literal); NULL when absent. DuckDB: one MAP literal (fast); else CASE. -#}
{% macro conform_lookup(key_expr, pairs, value_type='varchar') -%}
    {%- if pairs | length == 0 -%}
        {{ return('cast(null as ' ~ value_type ~ ')') }}
    {%- endif -%}
    {{ return(adapter.dispatch('conform_lookup', 'qualitrace')(key_expr, pairs, value_type)) }}
{%- endmacro %}
{% macro default__conform_lookup(key_expr, pairs, value_type) -%}
    case {{ key_expr }}
    {%- for k, v in pairs %}
        when {{ conform_sql_string(k) }} then cast({{ v }} as {{ value_type }})
    {%- endfor %}
    end
{%- endmacro %}
{% macro duckdb__conform_lookup(key_expr, pairs, value_type) -%}
    {%- set entries = [] -%}
    {%- for k, v in pairs -%}{%- do entries.append(conform_sql_string(k) ~ ': ' ~ v) -%}{%- endfor -%}
    cast((MAP { {{ entries | join(', ') }} })[{{ key_expr }}] as {{ value_type }})
{%- endmacro %}

{#- dictionary_table(name, lineage=true) -> what a compile-time lookup reads for the dictionary
    table `name`, the one helper for it. `lineage` calls source('dictionary', name), so the model
    depends on the dictionary asset in dbt's and Dagster's lineage (off where source() is not
    allowed: dbt unit tests would demand the table as a given input). The rows come from
    $QUALITRACE_DICTIONARY_TABLES/<name>.parquet when that is set (the orchestration writes the
    files with the dictionary tables: lib/dictionary/tables.write_files), so `dbt compile` needs
    no warehouse contents; else from the published table dictionary.<name>. -#}
{% macro dictionary_table(name, lineage=true) -%}
    {%- if lineage -%}{%- set _ = source('dictionary', name) -%}{%- endif -%}
    {%- set directory = env_var('QUALITRACE_DICTIONARY_TABLES', '') -%}
    {%- if directory -%}
        {{ return(adapter.dispatch('dictionary_file', 'qualitrace')(directory ~ '/' ~ name ~ '.parquet')) }}
    {%- endif -%}
    {{ return(api.Relation.create(database=target.database, schema='dictionary', identifier=name) | string) }}
{%- endmacro %}
{% macro default__dictionary_file(path) -%}
    {{ return('parquet.`' ~ path ~ '`') }}
{%- endmacro %}
{% macro duckdb__dictionary_file(path) -%}
    {{ return("read_parquet(" ~ conform_sql_string(path) ~ ")") }}
{%- endmacro %}
