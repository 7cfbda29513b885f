"""Sample plant generator: realistic exports of ERP, MES, QMS and CRM plus `truth.json`."""

from .core import generate

__all__ = ["generate"]
