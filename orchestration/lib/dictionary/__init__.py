"""The data dictionary: load and validate `data_dictionary/`, publish it as `dictionary.*`."""

from orchestration.lib.dictionary.loader import DictionaryError, load_dictionary
from orchestration.lib.dictionary.model import (
    Dictionary,
    Entity,
    Field,
    MissingThreshold,
    ProblemType,
    ReasonCode,
)
from orchestration.lib.dictionary.normalize import lookup_key, normalize_header, text_code


def publish(dictionary: Dictionary, con) -> dict[str, int]:
    """Replace every `dictionary.*` table in one transaction; returns row counts per table."""
    from orchestration.lib.dictionary.tables import publish as _publish
    return _publish(dictionary, con)


__all__ = [
    "Dictionary", "DictionaryError", "Entity", "Field", "MissingThreshold", "ProblemType",
    "ReasonCode", "load_dictionary", "lookup_key", "normalize_header", "publish", "text_code",
]
