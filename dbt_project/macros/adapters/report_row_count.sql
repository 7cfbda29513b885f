{#
  Post-hook of every model (dbt_project.yml): a table's row count, said in dbt's log as
  `qualitrace_rows=<n>` while the model's node is still running, so the orchestration can
  attach it to the model's Dagster materialization as dbt reports the node done, instead of
  counting every built table after dbt exits (DuckDB lets no other process open the
  warehouse while dbt holds it). Renders no SQL.

  DuckDB only: elsewhere (Spark) the orchestration counts the tables after the build, and a
  count here would be one more Spark job per model. Views are not counted (counting runs them).
#}
{% macro report_row_count() %}
    {{ return(adapter.dispatch('report_row_count', 'qualitrace')()) }}
{% endmacro %}

{% macro default__report_row_count() %}{% endmacro %}

{% macro duckdb__report_row_count() %}
    {%- if execute and model.config.materialized in ('table', 'incremental') -%}
        {%- set counted = run_query('select count(*) from ' ~ this) -%}
        {%- do log('qualitrace_rows=' ~ counted.columns[0].values()[0], info=True) -%}
    {%- endif -%}
{% endmacro %}
