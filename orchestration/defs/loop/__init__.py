"""Closing the loop after every publish (sensor-triggered runs too): `marts/escalations` (the
rules of data_dictionary/escalations.yml over the published marts, alerted and resolved
through the alert path), `marts/hold_list` (what to hold and where its units are) and
`reports/dashboard` (the quality dashboard over all of it); `reports/dbt_docs` (the dbt docs
site, when the project changed)."""
