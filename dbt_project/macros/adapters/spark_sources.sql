{#-
  spark_register_sources() (on-run-start, Spark only): every dbt source as an external Parquet
  table, so `source()` reads the same landing and dictionary data as on DuckDB:
    raw.<table>          -> $QUALITRACE_SPARK_LANDING/raw/<table>/   (orchestration/lib/spark.py)
    dictionary.<name>    -> $QUALITRACE_DICTIONARY_TABLES/<name>.parquet
  A table is dropped and created again on every invocation (an external table: dropping it
  keeps the files), so a new landing export is what the build reads. Only the tables named in
  $QUALITRACE_SPARK_SOURCES ('raw.a,dictionary.b', the ones with files: Spark cannot create
  a Parquet table without any) are created; a model reading another fails naming it.
-#}
{% macro spark_register_sources() -%}
    {%- if target.type != 'spark' or not execute -%}{{ return('') }}{%- endif -%}
    {%- set landing = env_var('QUALITRACE_SPARK_LANDING', '') -%}
    {%- set dictionary = env_var('QUALITRACE_DICTIONARY_TABLES', '') -%}
    {%- set present = env_var('QUALITRACE_SPARK_SOURCES', '').split(',') -%}
    {%- set schemas = [] -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.schema not in schemas -%}{%- do schemas.append(node.schema) -%}{%- endif -%}
    {%- endfor -%}
    {%- for schema in schemas -%}
        {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- endfor -%}
    {%- for node in graph.sources.values() -%}
        {%- set name = node.identifier or node.name -%}
        {%- if node.source_name == 'dictionary' -%}
            {%- set location = dictionary ~ '/' ~ name ~ '.parquet' if dictionary else '' -%}
        {%- else -%}
            {%- set location = landing ~ '/' ~ node.schema ~ '/' ~ name if landing else '' -%}
        {%- endif -%}
        {%- do run_query('drop table if exists ' ~ node.schema ~ '.' ~ name) -%}
        {%- if location and (node.schema ~ '.' ~ name) in present -%}
            {%- do run_query('create table ' ~ node.schema ~ '.' ~ name ~ ' using parquet location ' ~ conform_sql_string(location)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}
