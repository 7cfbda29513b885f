"""Publish area: the blue/green swap of the marts, waiting for the gate."""
