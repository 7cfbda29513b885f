-- One row per distinct complaint (grain of marts.complaint_trace) with its problem types,
-- classified from the description by the dictionary's taxonomy (safety first; primary +
-- secondary codes; 'UNCLASSIFIED' when nothing matches, never dropped).
select
    d.*,
    {{ complaint_problem_columns('d.description') }}
from {{ ref('int_complaints_distinct') }} as d
