"""Transforms: adstock, saturation, seasonality, trend and event dummies.

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
    LogSaturation,
    PowerSaturation,
    TanhSaturation,
)
from mediamix.transforms.events import event_dummy
from mediamix.transforms.seasonality import (
    SEASONAL_PERIODS,
    YEAR_DAYS,
    fourier_features,
    fourier_labels,
    linear_trend,
    max_fourier_order,
)
from mediamix.transforms.trend import changepoint_basis, changepoint_locations

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
    "LogSaturation",
    "PowerSaturation",
    "fourier_features",
    "fourier_labels",
    "linear_trend",
    "max_fourier_order",
    "YEAR_DAYS",
    "SEASONAL_PERIODS",
    "changepoint_basis",
    "changepoint_locations",
    "event_dummy",
]
