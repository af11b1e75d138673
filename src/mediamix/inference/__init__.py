"""Inference layer: samplers (one protocol, three NUTS backends, three approximations) and convergence diagnostics.

Layer rule: imports the model layer and below; knows nothing of analysis or output.
"""

from mediamix.inference.approximate import APPROXIMATIONS, get_approximation
from mediamix.inference.diagnostics import (
    Diagnostics,
    ParameterDiagnostics,
    approximate_note,
    diagnose,
    fit_method,
    parameter_diagnostics,
)
from mediamix.inference.samplers import SAMPLERS, SampleResult, Sampler, get_sampler

__all__ = [
    "APPROXIMATIONS", "Diagnostics", "ParameterDiagnostics", "SAMPLERS", "SampleResult", "Sampler",
    "approximate_note", "diagnose", "fit_method", "get_approximation", "get_sampler", "parameter_diagnostics",
]
