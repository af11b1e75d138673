"""Transforms: adstock, saturation, seasonality and trend.

Layer rule: imports only :mod:`mediamix.priors`, :mod:`mediamix.errors`, NumPy and
pandas at module level; PyTensor is imported inside ``apply_pt`` so that
``import mediamix`` stays light.
"""

from mediamix.transforms.adstock import (
    ADSTOCKS,
    BinomialAdstock,
    DelayedAdstock,
    GeometricAdstock,
    WeibullCDFAdstock,
    WeibullPDFAdstock,
)
from mediamix.transforms.base import Adstock, Saturation, Transform
from mediamix.transforms.saturation import (
    SATURATIONS,
    HillSaturation,
    LogisticSaturation,
    MichaelisMentenSaturation,
    PowerSaturation,
    TanhSaturation,
)
from mediamix.transforms.seasonality import fourier_features, fourier_labels, linear_trend

__all__ = [
    "ADSTOCKS",
    "SATURATIONS",
    "Adstock",
    "Saturation",
    "Transform",
    "GeometricAdstock",
    "DelayedAdstock",
    "WeibullCDFAdstock",
    "WeibullPDFAdstock",
    "BinomialAdstock",
    "LogisticSaturation",
    "HillSaturation",
    "MichaelisMentenSaturation",
    "TanhSaturation",
    "PowerSaturation",
    "fourier_features",
    "fourier_labels",
    "linear_trend",
]
