-- governance.dictionary_gaps: one row per value the dictionary does not know yet: unknown
-- headers (ingest), unit spellings, batch codes and serials matching no pattern, optional
-- dates, times and numbers in no known form (`unparsed_<type>`), province / shift / line /
-- status / vocabulary spellings, and complaint descriptions no problem type matches
-- (field `description`, value 'UNCLASSIFIED' per description text).
{%- for system, entity in source_entities() %}
-- depends_on: {{ ref('base_' ~ system ~ '__' ~ entity) }}
{%- endfor %}
with seen as (
    select
        system, entity, 'header' as field, 'unknown_header' as gap_kind,
        header_seen as value_seen, first_seen, source_file,
        cast(null as {{ dbt.type_bigint() }}) as source_row
    from {{ ref('stg_ingest__header_gaps') }}
{%- for system, entity in source_entities() %}
    {%- for f in dictionary_fields(system, entity) if (f.type in coded_types() or f.type == 'unit') and not f.pii %}
    union all
    select
        '{{ system }}', '{{ entity }}', '{{ f.name }}',
        {%- if f.type == 'unit' %}
        'unknown_unit', {{ adapter.quote(f.name) }},
        {%- elif f.type == 'batch_code' %}
        'unmatched_batch_code', {{ adapter.quote(f.name ~ '_as_typed') }},
        {%- elif f.type == 'serial' %}
        'unmatched_serial', {{ adapter.quote(f.name ~ '_as_typed') }},
        {%- else %}
        'unknown_{{ f.type }}', {{ adapter.quote(f.name ~ '_as_typed') }},
        {%- endif %}
        _loaded_at, _source_file, _source_row
    from {{ ref('base_' ~ system ~ '__' ~ entity) }}
    {%- if f.type == 'unit' %}
    where {{ adapter.quote(f.name) }} is not null and not {{ adapter.quote(f.name ~ '_is_known') }}
    {%- else %}
    where {{ adapter.quote(f.name) }} is null and {{ adapter.quote(f.name ~ '_as_typed') }} is not null
    {%- endif %}
    {%- endfor %}
    {%- for f in dictionary_fields(system, entity) if f.type in parsed_types() and not f.required and not f.pii %}
    union all
    select
        '{{ system }}', '{{ entity }}', '{{ f.name }}', 'unparsed_{{ f.type }}',
        {{ adapter.quote(f.name ~ '_unparsed') }}, _loaded_at, _source_file, _source_row
    from {{ ref('base_' ~ system ~ '__' ~ entity) }}
    where {{ adapter.quote(f.name ~ '_unparsed') }} is not null
    {%- endfor %}
{%- endfor %}
    union all
    select
        'crm', 'complaints', 'description', 'unclassified_description',
        -- personal data typed into a description never reaches governance tables in clear
        {{ mask_pii_text('description') }}, received_at, _source_file,
        cast(null as {{ dbt.type_bigint() }})
    from {{ ref('int_complaints_deduplicated') }}
    where problem_type_code = 'UNCLASSIFIED'
),

ranked as (
    select
        seen.*,
        row_number() over (partition by system, entity, field, gap_kind, value_seen
                           order by source_file, source_row) as example_rank
    from seen
)

select
    field,
    value_seen,
    count(*) as occurrences,
    min(first_seen) as first_seen,
    max(first_seen) as last_seen,
    min(case when example_rank = 1 then source_file end) as example_file,
    min(case when example_rank = 1 then source_row end) as example_row,
    system,
    entity,
    gap_kind
from ranked
group by system, entity, field, gap_kind, value_seen
