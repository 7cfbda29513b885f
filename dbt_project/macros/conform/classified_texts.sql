{#-
  Incremental problem classification by description text (int_complaint_texts_classified).

  Classifying a text is the expensive part of the complaint models (one large regex scan per
  text) and its result depends on the text and the taxonomy alone, so each distinct text is
  classified once and kept:
    classified_texts_hash()     -> md5 of the classification SQL. The macros inline the
                                   dictionary's keywords, negations and precedences at compile
                                   time, so a dictionary or macro change changes it.
    classified_texts_key(expr)  -> the text's key: md5 of the text, 'NULL' for no text.
    classified_texts_only_new() -> whether this run classifies only the texts the table lacks
                                   (an incremental run).
    classified_texts_any_new(h) -> whether there is such a text (none: the model selects no
                                   row without the classification SQL, whose planning alone
                                   costs ~0.3 s).
    classified_texts_prune()    (pre_hook) -> on such a run, DELETE the texts no complaint
                                   uses any more and every text classified under another hash.
  The model is a kept_table_materialization() (macros/incremental/kept_per_key.sql):
  `incremental` (strategy `append`: the new texts); on Spark (Parquet tables: no DELETE) a
  `table`, every text classified again on every run.
  Result after any run = a full rebuild (tests/test_dbt_incremental.py).
-#}

{#- bump to re-classify every text once -#}
{% macro classified_texts_version() -%}classify.v1{%- endmacro %}

{% macro classified_texts_hash() -%}
    {{ return(local_md5(classified_texts_version() ~ '\n'
        ~ problem_matches('t.description') ~ '\n' ~ problem_evidence('t.description') ~ '\n'
        ~ problem_primary('m.problem_matches') ~ '\n' ~ problem_secondary('m.problem_matches'))) }}
{%- endmacro %}

{% macro classified_texts_key(expr) -%}
    coalesce({{ dbt.hash(expr) }}, 'NULL')
{%- endmacro %}

{% macro classified_texts_only_new() -%}
    {{ return(kept_table_is_incremental()) }}
{%- endmacro %}

{#- whether int_complaints_distinct holds a text the table lacks under `classify_hash` -#}
{% macro classified_texts_any_new(classify_hash) -%}
    {%- set sql -%}
        select count(*) from (
            select distinct d.description from {{ ref('int_complaints_distinct') }} as d) as t
        where {{ classified_texts_key('t.description') }} not in (
            select c.description_key from {{ this }} as c
            where c._classify_hash = '{{ classify_hash }}')
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0] > 0) }}
{%- endmacro %}

{% macro classified_texts_prune() -%}
{%- if classified_texts_only_new() -%}
delete from {{ this }}
where _classify_hash <> '{{ classified_texts_hash() }}'
   or description_key not in (
       select distinct {{ classified_texts_key('d.description') }}
       from {{ ref('int_complaints_distinct') }} as d)
{%- endif -%}
{%- endmacro %}
