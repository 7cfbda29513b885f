"""Ingest area: 16 `raw/<system>__<entity>` assets, the `exports_sensor` and the
`reland_delivery_day` job (a partition per delivery day) and the `delivery_silence` checks."""
