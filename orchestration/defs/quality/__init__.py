"""Quality area: GX asset checks on staging/intermediate models, and the governance report."""
