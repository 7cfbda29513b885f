-- Headers the dictionary does not know (raw._header_gaps).
select * from {{ source('raw', '_header_gaps') }}
