"""The public API is pinned, and importing mediamix stays light."""

from __future__ import annotations

import subprocess
import sys

import mediamix


def test_all_is_pinned() -> None:
    assert sorted(mediamix.__all__) == sorted(
        [
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
    )
    for name in mediamix.__all__:
        assert hasattr(mediamix, name), name


def test_errors_subclass_builtins() -> None:
    assert issubclass(mediamix.DataError, ValueError)
    assert issubclass(mediamix.ConfigError, ValueError)
    assert issubclass(mediamix.NotFittedError, RuntimeError)
    assert issubclass(mediamix.OutputError, OSError)
    for cls in (mediamix.DataError, mediamix.ConfigError, mediamix.NotFittedError, mediamix.OutputError):
        assert issubclass(cls, mediamix.MediamixError)


def test_import_does_not_load_the_heavy_libraries() -> None:
    heavy = ["pymc", "pytensor", "arviz", "matplotlib", "nutpie", "scipy.stats", "scipy.optimize"]
    code = f"import sys, mediamix; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
