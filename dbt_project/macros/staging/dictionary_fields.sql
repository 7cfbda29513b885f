{#-
  dictionary_fields(system, entity) -> list of field dicts read at compile time from the
  published dictionary (`dictionary.fields`), in export order:
    {name, type, required, pii, unit_kind, unit_field, vocabulary}
  The only place that knows the layout of dictionary.fields. Empty list while parsing.
-#}
{% macro dictionary_fields(system, entity) -%}
    {%- set rel = dictionary_table('fields') -%}  {#- registers the dependency at parse time -#}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set sql -%}
        select field, type, required, pii, unit_kind, unit_field, vocabulary
        from {{ rel }}
        where system = '{{ system }}' and entity = '{{ entity }}'
        order by ordinal
    {%- endset -%}
    {%- set rows = run_query(sql) -%}
    {%- set out = [] -%}
    {%- for r in rows -%}
        {%- do out.append({
            'name': r[0], 'type': r[1], 'required': (r[2] in [true, 'true', 1, 'True']),
            'pii': (r[3] in [true, 'true', 1, 'True']), 'unit_kind': r[4], 'unit_field': r[5],
            'vocabulary': r[6]}) -%}
    {%- endfor -%}
    {%- if out | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "dictionary.fields has no fields for " ~ system ~ "." ~ entity ~
            ": publish the dictionary (qualitrace dictionary / the dictionary/tables asset) first") }}
    {%- endif -%}
    {{ return(out) }}
{%- endmacro %}
