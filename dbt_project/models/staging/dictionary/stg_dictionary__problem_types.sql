-- The problem taxonomy with its names in Chinese and English (for names beside codes).
select
    code as problem_type_code,
    category as problem_category,
    name_zh as problem_type_name_zh,
    name_en as problem_type_name_en
from {{ source('dictionary', 'problem_types') }}
