-- One row per distinct complaint description (a missing description included) with its
-- problem types, classified by the taxonomy: safety first; primary + secondary codes;
-- 'UNCLASSIFIED' when nothing matches. Complaints repeat phrasings and a text's
-- classification depends on the text and the taxonomy alone, so a run classifies only the
-- texts not yet classified under the current taxonomy (macros/conform/classified_texts.sql);
-- the pre-hook drops texts no complaint uses any more. Same rows as a full rebuild.
{{ config(materialized=kept_table_materialization(),
          incremental_strategy='append',
          pre_hook="{{ classified_texts_prune() }}") }}

{%- set classify_hash = classified_texts_hash() if execute else '' %}
{%- if classified_texts_only_new() and not classified_texts_any_new(classify_hash) %}
-- every text is classified under the current taxonomy (a status update, a re-export, a
-- repeated phrasing): no new row, and the classification expressions (hundreds of KB of SQL,
-- about 0.3 s for DuckDB to plan even on no rows) are left out
select
{%- for column in ['description_key', 'description', 'problem_type_code',
                   'secondary_problem_codes', 'problem_evidence', '_classify_hash'] %}
    cast(null as {{ dbt.type_string() }}) as {{ column }}{{ ',' if not loop.last }}
{%- endfor %}
where 1 = 0
{%- else %}

with descriptions as (
    select distinct d.description
    from {{ ref('int_complaints_distinct') }} as d
),

texts as (
    select t.description
    from descriptions as t
    {%- if classified_texts_only_new() %}
    where {{ classified_texts_key('t.description') }} not in (
        select c.description_key from {{ this }} as c
        where c._classify_hash = '{{ classify_hash }}')
    {%- endif %}
),

matched as (
    select
        t.description,
        {{ problem_matches('t.description') }} as problem_matches,
        {{ problem_evidence('t.description') }} as problem_evidence
    from texts as t
)

select
    {{ classified_texts_key('m.description') }} as description_key,
    m.description,
    {{ problem_primary('m.problem_matches') }} as problem_type_code,
    {{ problem_secondary('m.problem_matches') }} as secondary_problem_codes,
    m.problem_evidence,
    cast('{{ classify_hash }}' as {{ dbt.type_string() }}) as _classify_hash
from matched as m
{%- endif %}
