"""The mediamix exception tree.

Every error a user can cause derives from :class:`MediamixError`, so the CLI can
turn it into a one-line message and exit code 2. Each class also subclasses the
closest built-in exception, so ``except ValueError`` keeps working for callers
that do not know about mediamix.

Messages say *what* is wrong, *where* (column, row, key), what was *expected*
and what was *got*.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "MediamixError",
    "DataError",
    "ConfigError",
    "NotFittedError",
    "SamplingError",
    "OutputError",
    "ConvergenceWarning",
    "DataWarning",
    "did_you_mean",
]


class MediamixError(Exception):
    """Base class of every error mediamix raises on purpose."""


class DataError(MediamixError, ValueError):
    """The input table is unusable: a missing column, a bad value, a gap in the dates."""


class ConfigError(MediamixError, ValueError):
    """The configuration (TOML file or Python arguments) is invalid."""


class NotFittedError(MediamixError, RuntimeError):
    """A method that needs a posterior was called before :meth:`mediamix.MMM.fit`."""


class SamplingError(MediamixError, RuntimeError):
    """The sampler failed or is not available (e.g. an optional backend is not installed)."""


class OutputError(MediamixError, OSError):
    """An output folder cannot be written or read back."""


class ConvergenceWarning(UserWarning):
    """The posterior may not be trustworthy: high r-hat, low ESS or divergences."""


class DataWarning(UserWarning):
    """The table is valid but may not support the model: collinear channels, too few rows, outliers.

    Raised by :meth:`mediamix.MMM.fit` for each data check of :mod:`mediamix.review`
    whose severity is ``review`` or ``fail``.
    """


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return a ``" Did you mean 'x'?"`` hint for a misspelled ``name``, or ``""``.

    Parameters
    ----------
    name : str
        The name the user gave.
    known : iterable of str
        The valid names.
    """
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" Did you mean '{matches[0]}'?" if matches else ""
