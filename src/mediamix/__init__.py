"""mediamix: Bayesian media mix modeling with honest uncertainty.

>>> from mediamix import MMM, simulate
>>> demo = simulate.seed_example()
>>> mmm = MMM(date="date_week", target="y", channels=["x1", "x2"], controls=["event_1", "event_2"])

The public API is what ``__all__`` lists (a test pins it). PyMC is imported
only when a model is fitted, so ``import mediamix`` stays light.
"""

from mediamix import simulate
from mediamix._version import __version__
from mediamix.config import MMMConfig, load_config
from mediamix.errors import (
    ConfigError,
    ConvergenceWarning,
    DataError,
    DataWarning,
    MediamixError,
    NotFittedError,
    OutputError,
    SamplingError,
)
from mediamix.mmm import MMM, load
from mediamix.priors import Prior

__all__ = [
    "MMM",
    "MMMConfig",
    "Prior",
    "load",
    "load_config",
    "simulate",
    "ConfigError",
    "ConvergenceWarning",
    "DataError",
    "DataWarning",
    "MediamixError",
    "NotFittedError",
    "OutputError",
    "SamplingError",
    "__version__",
]
