-- One row per distinct complaint (grain of marts.complaint_trace) with its problem types,
-- classified from the description by the dictionary's taxonomy (safety first; primary +
-- secondary codes; 'UNCLASSIFIED' when nothing matches, never dropped).
with matched as (
    select
        d.complaint_id,
        {{ problem_matches('d.description') }} as problem_matches
    from {{ ref('int_complaints_distinct') }} as d
),

classified as (
    select
        m.complaint_id,
        {{ problem_primary('m.problem_matches') }} as problem_type_code,
        {{ problem_secondary('m.problem_matches') }} as secondary_problem_codes
    from matched as m
)

select
    d.*,
    c.problem_type_code,
    {{ problem_category('c.problem_type_code') }} as problem_category,
    c.secondary_problem_codes
from {{ ref('int_complaints_distinct') }} as d
inner join classified as c on c.complaint_id = d.complaint_id
