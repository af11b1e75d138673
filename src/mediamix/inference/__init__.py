"""Inference layer: samplers (one protocol, three backends) and convergence diagnostics.

Layer rule: imports the model layer and below; knows nothing of analysis or output.
"""

from mediamix.inference.diagnostics import Diagnostics, diagnose
from mediamix.inference.samplers import SAMPLERS, SampleResult, Sampler, get_sampler

__all__ = ["Diagnostics", "SAMPLERS", "SampleResult", "Sampler", "diagnose", "get_sampler"]
