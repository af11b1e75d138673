"""Analysis layer: pure functions of (posterior, design, config) -> xarray.

Layer rule: imports model.design, config, transforms and below; never PyMC.
"""

from mediamix.analysis.attribution import (
    HDI_PROB,
    channel_roas,
    channel_share,
    channel_summary,
    channel_totals,
    contributions_table,
    hdi_summary,
)
from mediamix.analysis.decomposition import BASELINE_COMPONENTS, decompose, observations, predictive, standard_noise

__all__ = [
    "BASELINE_COMPONENTS",
    "HDI_PROB",
    "channel_roas",
    "channel_share",
    "channel_summary",
    "channel_totals",
    "contributions_table",
    "decompose",
    "hdi_summary",
    "observations",
    "predictive",
    "standard_noise",
]
