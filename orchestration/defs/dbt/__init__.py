"""dbt area: every dbt model (one `dbt build`), and the reconciliation gate.

`defs` holds the dbt models (staging, intermediate, governance, marts_build) and the
reconciliation check; publish, not marts_build, waits for the gate (see `defs/publish`).
"""
