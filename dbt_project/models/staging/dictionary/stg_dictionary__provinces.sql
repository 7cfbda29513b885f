-- Provinces (GB/T 2260) with their names (for names beside codes).
select
    code as province_code,
    name as province_name,
    name_en as province_name_en
from {{ source('dictionary', 'provinces') }}
