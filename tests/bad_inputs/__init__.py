"""Bad-input corpus for the ingest tests (generated at test time, see corpus.py)."""
