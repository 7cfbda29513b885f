{#-
  The relation a generic data test reads (dbt calls `get_where_subquery(ref(...))` for the
  `model` argument of every generic test; this project's macro takes the place of dbt's).

  As dbt's own: a test's `where` config filters the rows it reads. In addition, in a partial
  build (orchestration: lib/freshness.py, lib/dbt_project.staging_tests_scope) the environment
  names the delivered files that changed since the published run (QUALITRACE_TESTS_FILES, a
  JSON list; empty or unset: no scope). Then a test reads only the rows of those files (and any
  row without a file) when its verdict over the whole table follows from its verdict over them:

    - the model is incremental `by_file` (macros/staging/incremental_by_file.sql) on an engine
      where it conforms only new file versions: every row of another file is the row the
      published run built and tested (a partial build runs only after a publish, whose code,
      dictionary and salt are this run's: lib/freshness.changed_sources);
    - the test is of error severity (the published run passed every one of those; a warning
      it published may still fail on an old file, so a `warn` test reads everything);
    - the test judges rows file by file: `not_null`, `accepted_values`, or
      `unique_combination_of_columns` whose columns include `_source_file` (two rows of
      different files never collide).

  Any other test, and every test of a full build, reads every row. Tested by
  tests/test_dbt_test_scope.py.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set clauses = ['(' ~ where ~ ')'] if where else [] -%}
    {%- set scope = tested_files_filter() -%}
    {%- if scope -%}{%- do clauses.append(scope) -%}{%- endif -%}
    {%- if clauses -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ clauses | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- tests judged file by file (see above) -#}
{% macro _file_by_file_test(meta) -%}
    {%- if meta.name in ('not_null', 'accepted_values') -%}
        {{- return(true) -}}
    {%- elif meta.name == 'unique_combination_of_columns' -%}
        {{- return('_source_file' in (meta.kwargs.get('combination_of_columns') or [])) -}}
    {%- endif -%}
    {{- return(false) -}}
{%- endmacro %}

{#- the condition restricting this test to the changed files' rows, or none -#}
{% macro tested_files_filter() -%}
    {%- if not execute or model.resource_type != 'test' -%}{{ return(none) }}{%- endif -%}
    {%- set listed = env_var('QUALITRACE_TESTS_FILES', '') -%}
    {%- if not listed -%}{{ return(none) }}{%- endif -%}
    {%- set meta = model.get('test_metadata') -%}
    {%- set parents = model.depends_on.nodes -%}
    {%- if not meta or parents | length != 1 or not _file_by_file_test(meta)
           or (model.config.severity | lower) != 'error' or not by_file_selects_changes() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set parent = graph.nodes.get(parents[0]) -%}
    {%- if not parent or parent.config.materialized != 'incremental'
           or parent.config.incremental_strategy != 'by_file' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set files = fromjson(listed) -%}
    {%- if files -%}
        {%- set quoted = [] -%}
        {%- for f in files -%}{%- do quoted.append("'" ~ (f | replace("'", "''")) ~ "'") -%}{%- endfor -%}
        {{ return('(_source_file is null or _source_file in (' ~ quoted | join(', ') ~ '))') }}
    {%- endif -%}
    {{ return('_source_file is null') }}
{%- endmacro %}
