"""Prior value objects and the default-prior table.

A :class:`Prior` names a distribution and its parameters. It is checked when it
is made: an unknown distribution, a missing or unknown parameter, or a value
outside its support is a :class:`~mediamix.errors.ConfigError` that says which.

A parameter may be one number for every channel, or a table keyed by channel
name (``{"tv": 1.0, "search": 0.5}``); :meth:`Prior.resolve` turns such a table
into an array ordered like the model's channels, and rejects a name that is not
one of them. Channels are matched by name, never by position.

This module is pure Python; :mod:`mediamix.model.build` turns priors into PyMC
random variables.
"""

from __future__ import annotations

import functools
import math
import numbers

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mediamix.errors import ConfigError, did_you_mean

__all__ = ["Prior", "DISTRIBUTIONS", "DEFAULT_PRIORS", "PRIOR_DIMS", "default_priors"]


@dataclass(frozen=True)
class _Family:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()


#: The distributions a prior may use, with their parameters (PyMC's names).
DISTRIBUTIONS: dict[str, _Family] = {
    "Normal": _Family(("mu", "sigma"), positive=("sigma",)),
    "HalfNormal": _Family(("sigma",), positive=("sigma",)),
    "LogNormal": _Family(("mu", "sigma"), positive=("sigma",)),
    "TruncatedNormal": _Family(("mu", "sigma"), ("lower", "upper"), positive=("sigma",)),
    "StudentT": _Family(("nu", "mu", "sigma"), positive=("nu", "sigma")),
    "HalfStudentT": _Family(("nu", "sigma"), positive=("nu", "sigma")),
    "Beta": _Family(("alpha", "beta"), positive=("alpha", "beta")),
    "Gamma": _Family(("alpha", "beta"), positive=("alpha", "beta")),
    "Exponential": _Family(("lam",), positive=("lam",)),
    "Laplace": _Family(("mu", "b"), positive=("b",)),
    "Uniform": _Family(("lower", "upper")),
}

ParamValue = float | Mapping[str, float]


def _is_finite_number(value: Any) -> bool:
    """True for a finite real number (Python or NumPy), False for bools, strings, None, inf."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


@dataclass(frozen=True)
class Prior:
    """A prior distribution: a PyMC distribution name and its parameters.

    Parameters
    ----------
    dist : str
        One of :data:`DISTRIBUTIONS` (``"Normal"``, ``"HalfNormal"``, ``"Beta"``, ...).
    params : mapping of str to float or mapping of str to float
        The distribution's parameters by PyMC name. A value may be a table keyed
        by channel (or control) name to give each its own prior.

    Examples
    --------
    >>> Prior("HalfNormal", {"sigma": 2.0})
    Prior('HalfNormal', sigma=2.0)
    >>> Prior("HalfNormal", {"sigma": {"tv": 1.0, "search": 0.5}}).resolve(["search", "tv"])
    {'sigma': array([0.5, 1. ])}
    """

    dist: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        family = DISTRIBUTIONS.get(self.dist)
        if family is None:
            raise ConfigError(
                f"Unknown prior distribution '{self.dist}'.{did_you_mean(self.dist, DISTRIBUTIONS)}"
                f" Expected one of: {', '.join(DISTRIBUTIONS)}."
            )
        allowed = family.required + family.optional
        for name in self.params:
            if name not in allowed:
                raise ConfigError(
                    f"Prior {self.dist} has no parameter '{name}'.{did_you_mean(name, allowed)}"
                    f" Expected: {', '.join(allowed)}."
                )
        missing = [p for p in family.required if p not in self.params]
        if missing:
            raise ConfigError(f"Prior {self.dist} needs parameter(s) {', '.join(missing)}.")
        for name, value in self.params.items():
            values = value.values() if isinstance(value, Mapping) else [value]
            for v in values:
                if not _is_finite_number(v):
                    raise ConfigError(
                        f"Prior {self.dist} parameter '{name}' must be a finite number. Got {v!r}."
                    )
                if name in family.positive and v <= 0:
                    raise ConfigError(
                        f"Prior {self.dist} parameter '{name}' must be > 0. Got {v!r}."
                    )
        lower, upper = self.params.get("lower"), self.params.get("upper")
        if lower is not None and upper is not None:
            # Per name when either bound is a table (a number applies to every name): the model is
            # built without support checks, so lower >= upper would make its log density NaN.
            names = [k for bound in (lower, upper) if isinstance(bound, Mapping) for k in bound]
            for name in dict.fromkeys(names) if names else [None]:
                low = lower.get(name) if isinstance(lower, Mapping) else lower
                high = upper.get(name) if isinstance(upper, Mapping) else upper
                if low is not None and high is not None and not low < high:
                    where = f" for '{name}'" if name is not None else ""
                    raise ConfigError(
                        f"Prior {self.dist} needs lower < upper{where}. Got lower={low!r}, upper={high!r}."
                    )
        # Store plain floats (and plain dicts of floats) whatever numeric types came in.
        object.__setattr__(
            self,
            "params",
            {
                k: ({n: float(x) for n, x in v.items()} if isinstance(v, Mapping) else float(v))
                for k, v in self.params.items()
            },
        )

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], where: str = "prior") -> Prior:
        """Build a prior from a flat table such as ``{"dist": "Normal", "mu": 0, "sigma": 2}``.

        Parameters
        ----------
        table : mapping
            ``dist`` plus the parameters, the way a TOML ``[priors.NAME]`` table reads.
        where : str, default="prior"
            Where the table came from, for error messages (e.g. ``"priors.beta"``).
        """
        if isinstance(table, Prior):
            return table
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table with 'dist' and its parameters. Got {table!r}.")
        if "dist" not in table:
            raise ConfigError(f"{where} needs a 'dist' key naming the distribution (e.g. dist = \"Normal\").")
        params = {k: v for k, v in table.items() if k != "dist"}
        try:
            return cls(str(table["dist"]), params)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from None

    def to_mapping(self) -> dict[str, Any]:
        """The flat table form, inverse of :meth:`from_mapping`."""
        return {"dist": self.dist, **{k: (dict(v) if isinstance(v, Mapping) else v) for k, v in self.params.items()}}

    def labels(self) -> set[str]:
        """Every channel/control name that a per-name parameter table mentions."""
        return {name for v in self.params.values() if isinstance(v, Mapping) for name in v}

    def resolve(self, labels: Sequence[str] | None = None) -> dict[str, float | np.ndarray]:
        """Parameters ready for the model: per-name tables become arrays ordered like ``labels``.

        Parameters
        ----------
        labels : sequence of str, optional
            The names along the prior's dimension (e.g. the channels). Needed when
            any parameter is a per-name table.

        Raises
        ------
        ConfigError
            If a table names an unknown label or misses one.
        """
        out: dict[str, float | np.ndarray] = {}
        for name, value in self.params.items():
            if not isinstance(value, Mapping):
                out[name] = float(value)
                continue
            if labels is None:
                raise ConfigError(
                    f"Prior {self.dist} parameter '{name}' is a per-name table, "
                    "but this prior has no named dimension."
                )
            unknown = [k for k in value if k not in labels]
            if unknown:
                raise ConfigError(
                    f"Prior {self.dist} parameter '{name}' names unknown '{unknown[0]}'."
                    f"{did_you_mean(unknown[0], labels)} Known names: {', '.join(labels)}."
                )
            missing = [k for k in labels if k not in value]
            if missing:
                raise ConfigError(
                    f"Prior {self.dist} parameter '{name}' has no value for '{missing[0]}'."
                    f" Give every one of: {', '.join(labels)}."
                )
            out[name] = np.array([float(value[k]) for k in labels])
        return out

    def to_scipy(self, labels: Sequence[str] | None = None) -> Any:
        """The same distribution as a frozen :mod:`scipy.stats` object, in PyMC's parametrization.

        Used to evaluate the prior density and CDF without PyMC (e.g. the
        prior–posterior overlap of :mod:`mediamix.review`).

        Parameters
        ----------
        labels : sequence of str, optional
            As for :meth:`resolve`; per-name tables become arrays ordered like
            ``labels``, and the frozen distribution broadcasts over them.

        Returns
        -------
        scipy.stats frozen distribution
            With ``pdf``, ``logpdf``, ``cdf``, ``ppf``, ``mean`` ...; its
            ``logpdf`` equals ``pymc.logp`` of the PyMC distribution of this prior.
        """
        return _scipy_distribution(self.dist, self.resolve(labels))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Prior({self.dist!r}, {args})"


#: The dimension of each baseline parameter (``None``: a scalar). Transform
#: parameters (adstock ``alpha``, saturation ``lam``...) live on ``channel`` and
#: their default priors come with the transform, see :mod:`mediamix.transforms`.
PRIOR_DIMS: dict[str, str | None] = {
    "intercept": None,
    "beta": "channel",
    "sigma": None,
    "gamma_control": "control",
    "gamma_fourier": "fourier_mode",
    "trend_slope": None,
    "trend_delta": "changepoint",
    "gamma_fourier_weekly": "fourier_mode_weekly",
    "gamma_fourier_monthly": "fourier_mode_monthly",
    "nu": None,
}

#: The seed's baseline priors, on the scaled (max-abs) target, channels and controls.
DEFAULT_PRIORS: dict[str, Prior] = {
    "intercept": Prior("Normal", {"mu": 0.0, "sigma": 2.0}),
    "beta": Prior("HalfNormal", {"sigma": 2.0}),
    "sigma": Prior("HalfNormal", {"sigma": 2.0}),
    "gamma_control": Prior("Normal", {"mu": 0.0, "sigma": 2.0}),
    "gamma_fourier": Prior("Normal", {"mu": 0.0, "sigma": 1.0}),
    "trend_slope": Prior("Normal", {"mu": 0.0, "sigma": 1.0}),
    # Slope changes of the piecewise trend: Laplace, as Prophet, so most changepoints stay
    # near zero and a few carry the real breaks (a sparsity prior). b = 0.05 on the 0..1
    # time scale lets a single change bend the trend by ~5% of the target's max over the span.
    "trend_delta": Prior("Laplace", {"mu": 0.0, "b": 0.05}),
    "gamma_fourier_weekly": Prior("Normal", {"mu": 0.0, "sigma": 1.0}),
    "gamma_fourier_monthly": Prior("Normal", {"mu": 0.0, "sigma": 1.0}),
    # Student-t degrees of freedom: Gamma(2, 0.1) (Juárez & Steel 2010, JASA 105:1296) has mean 20
    # and mode 10, so it allows heavy tails (nu < 5) without ruling out near-normal noise (nu > 30);
    # priors that put mass near nu -> 0 give improper posteriors, and flat priors on large nu
    # cannot be learned from MMM-sized data. Used only with ``likelihood = "student_t"``.
    "nu": Prior("Gamma", {"alpha": 2.0, "beta": 0.1}),
}


def default_priors() -> dict[str, Prior]:
    """A fresh copy of :data:`DEFAULT_PRIORS`."""
    return dict(DEFAULT_PRIORS)


def _scipy_distribution(dist: str, p: Mapping[str, Any]) -> Any:
    """A frozen scipy.stats distribution equal to PyMC's ``dist(**p)`` (see :meth:`Prior.to_scipy`)."""
    from scipy import stats  # imported here: scipy.stats adds ~0.3 s to ``import mediamix``

    if dist == "Normal":
        return stats.norm(loc=p["mu"], scale=p["sigma"])
    if dist == "HalfNormal":
        return stats.halfnorm(scale=p["sigma"])
    if dist == "LogNormal":
        return stats.lognorm(s=p["sigma"], scale=np.exp(p["mu"]))
    if dist == "TruncatedNormal":
        lower, upper = p.get("lower", -np.inf), p.get("upper", np.inf)
        return stats.truncnorm(
            a=(np.asarray(lower) - p["mu"]) / p["sigma"],
            b=(np.asarray(upper) - p["mu"]) / p["sigma"],
            loc=p["mu"],
            scale=p["sigma"],
        )
    if dist == "StudentT":
        return stats.t(df=p["nu"], loc=p["mu"], scale=p["sigma"])
    if dist == "HalfStudentT":
        return _half_student_t()(p["nu"], scale=p["sigma"])
    if dist == "Beta":
        return stats.beta(a=p["alpha"], b=p["beta"])
    if dist == "Gamma":  # PyMC's beta is a rate
        return stats.gamma(a=p["alpha"], scale=1.0 / np.asarray(p["beta"]))
    if dist == "Exponential":  # PyMC's lam is a rate
        return stats.expon(scale=1.0 / np.asarray(p["lam"]))
    if dist == "Laplace":
        return stats.laplace(loc=p["mu"], scale=p["b"])
    if dist == "Uniform":
        return stats.uniform(loc=p["lower"], scale=np.asarray(p["upper"]) - p["lower"])
    raise ConfigError(f"No scipy.stats twin for prior distribution '{dist}'.")  # pragma: no cover


@functools.cache
def _half_student_t() -> Any:
    """scipy.stats has no half Student-t: |T| with T ~ t(nu), density 2·t.pdf on [0, inf)."""
    from scipy import stats

    class HalfStudentT(stats.rv_continuous):
        def _pdf(self, x: np.ndarray, nu: np.ndarray) -> np.ndarray:
            return 2.0 * stats.t.pdf(x, nu)

        def _logpdf(self, x: np.ndarray, nu: np.ndarray) -> np.ndarray:
            return np.log(2.0) + stats.t.logpdf(x, nu)

        def _cdf(self, x: np.ndarray, nu: np.ndarray) -> np.ndarray:
            return 2.0 * stats.t.cdf(x, nu) - 1.0

        def _sf(self, x: np.ndarray, nu: np.ndarray) -> np.ndarray:
            return 2.0 * stats.t.sf(x, nu)

        def _ppf(self, q: np.ndarray, nu: np.ndarray) -> np.ndarray:
            return stats.t.ppf((1.0 + q) / 2.0, nu)

    return HalfStudentT(a=0.0, name="halfstudentt", shapes="nu")
