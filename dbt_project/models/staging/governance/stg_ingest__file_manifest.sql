-- Files seen by ingest, one row per file version (raw._file_manifest).
select * from {{ source('raw', '_file_manifest') }}
