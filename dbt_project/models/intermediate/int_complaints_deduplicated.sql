-- One row per distinct complaint (grain of marts.complaint_trace) with its problem types,
-- classified from the description by the dictionary's taxonomy (safety first; primary +
-- secondary codes; 'UNCLASSIFIED' when nothing matches, never dropped).
with matched as (
    select
        d.*,
        {{ problem_matches('d.description') }} as _problem_matches
    from {{ ref('int_complaints_distinct') }} as d
),

classified as (
    select
        m.*,
        {{ problem_primary('m._problem_matches') }} as problem_type_code,
        {{ problem_secondary('m._problem_matches') }} as secondary_problem_codes
    from matched as m
)

select
    {{ star_except('c', ['_problem_matches'], none) }},
    {{ problem_category('c.problem_type_code') }} as problem_category
from classified as c
