"""Helpers shared by the test modules (not product code)."""
