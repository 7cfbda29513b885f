"""Qualitrace benchmark harness: measure processes, build the floor, add a day, report."""
