"""Config layer: TOML -> pydantic (``extra="forbid"``, did-you-mean) -> :class:`MMMConfig`.

Layer rule: imports :mod:`mediamix.priors`, :mod:`mediamix.transforms` (for the
registries) and :mod:`mediamix.errors`; never PyMC.
"""

from mediamix.config.io import config_to_dict, dump_config, load_config, parse_config
from mediamix.config.schema import DataConfig, FitConfig, MMMConfig, ModelConfig, ReviewConfig

__all__ = [
    "DataConfig",
    "FitConfig",
    "MMMConfig",
    "ModelConfig",
    "ReviewConfig",
    "config_to_dict",
    "dump_config",
    "load_config",
    "parse_config",
]
