"""Dictionary area: validate data_dictionary/ and publish it as `dictionary.*`."""

from orchestration.defs.dictionary.assets import defs

__all__ = ["defs"]
