-- One row per distinct complaint (grain of marts.complaint_trace) with its problem types,
-- classified from the description by the dictionary's taxonomy (safety first; primary +
-- secondary codes; 'UNCLASSIFIED' when nothing matches, never dropped).
-- The classification is a function of the description text alone: each distinct text is
-- classified once, and kept between runs (int_complaint_texts_classified); joined back on
-- the text.
select
    d.*,
    c.problem_type_code,
    {{ problem_category('c.problem_type_code') }} as problem_category,
    c.secondary_problem_codes,
    c.problem_evidence
from {{ ref('int_complaints_distinct') }} as d
inner join {{ ref('int_complaint_texts_classified') }} as c
    on c.description is not distinct from d.description
