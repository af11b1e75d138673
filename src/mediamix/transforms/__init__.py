"""Transforms: adstock, saturation, seasonality and trend.

Layer rule: imports only :mod:`mediamix.priors`, :mod:`mediamix.errors`, NumPy and
pandas at module level; PyTensor is imported inside ``apply_pt`` so that
``import mediamix`` stays light.
"""

from mediamix.transforms.adstock import ADSTOCKS, GeometricAdstock
from mediamix.transforms.base import Transform
from mediamix.transforms.saturation import SATURATIONS, LogisticSaturation
from mediamix.transforms.seasonality import fourier_features, fourier_labels, linear_trend

__all__ = [
    "ADSTOCKS",
    "SATURATIONS",
    "GeometricAdstock",
    "LogisticSaturation",
    "Transform",
    "fourier_features",
    "fourier_labels",
    "linear_trend",
]
