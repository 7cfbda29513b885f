-- One row per distinct complaint (grain of marts.complaint_trace) with its problem types,
-- classified from the description by the dictionary's taxonomy (safety first; primary +
-- secondary codes; 'UNCLASSIFIED' when nothing matches, never dropped).
-- The classification is a function of the description text alone: it runs once per distinct
-- text (complaints repeat phrasings) and is joined back on the text.
with descriptions as (
    select distinct d.description
    from {{ ref('int_complaints_distinct') }} as d
),

matched as (
    select
        t.description,
        {{ problem_matches('t.description') }} as problem_matches,
        {{ problem_evidence('t.description') }} as problem_evidence
    from descriptions as t
),

classified as (
    select
        m.description,
        {{ problem_primary('m.problem_matches') }} as problem_type_code,
        {{ problem_secondary('m.problem_matches') }} as secondary_problem_codes,
        m.problem_evidence
    from matched as m
)

select
    d.*,
    c.problem_type_code,
    {{ problem_category('c.problem_type_code') }} as problem_category,
    c.secondary_problem_codes,
    c.problem_evidence
from {{ ref('int_complaints_distinct') }} as d
inner join classified as c on c.description is not distinct from d.description
