"""Findings and reviews: what a check found, how bad it is, and what to do next.

A :class:`Finding` is one check's result: a severity (``pass``, ``review`` or
``fail``), a sentence that names the column, channel or parameter and the
numbers, the numbers themselves, and a concrete next step. A :class:`Review` is
an ordered collection of findings with an overall verdict, the worst severity.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

__all__ = ["Severity", "SEVERITIES", "Finding", "Review"]

Severity = Literal["pass", "review", "fail"]

#: Severities from best to worst; a review's verdict is its worst finding's.
SEVERITIES: tuple[Severity, ...] = get_args(Severity)

Number = float | int | str | list[Any]


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as Python numbers and lists (JSON-ready); NaN stays a float."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    raise TypeError(f"A finding's numbers must be numbers, strings or lists of them. Got {type(value).__name__}.")


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Finding:
    """The result of one check.

    Parameters
    ----------
    check : str
        The check's name, e.g. ``"collinearity"`` or ``"r_hat"``.
    severity : {"pass", "review", "fail"}
        ``pass``: nothing to do; ``review``: results may be usable, but look at
        this first; ``fail``: do not use the results as they are.
    message : str
        What was found, naming the column, channel or parameter and the numbers.
    numbers : mapping of str to float, int, str or list, default={}
        The numbers behind the message (thresholds included), JSON-ready.
    next_step : str, default=""
        What to do about it (empty when the check passed).

    Raises
    ------
    ValueError
        If ``severity`` is not one of :data:`SEVERITIES`.
    """

    check: str
    severity: Severity
    message: str
    numbers: Mapping[str, Number] = field(default_factory=dict)
    next_step: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(
                f"The 'severity' of finding '{self.check}' must be one of {', '.join(SEVERITIES)}. "
                f"Got {self.severity!r} instead."
            )
        object.__setattr__(self, "numbers", {str(k): _plain(v) for k, v in self.numbers.items()})

    def to_dict(self) -> dict[str, Any]:
        """``{"check", "severity", "message", "numbers", "next_step"}``, JSON-ready (NaN and ±inf as ``None``)."""
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "numbers": {k: _finite_or_none(v) for k, v in self.numbers.items()},
            "next_step": self.next_step,
        }

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict` (``None`` numbers come back as NaN)."""
        numbers = {k: (math.nan if v is None else v) for k, v in dict(entry.get("numbers", {})).items()}
        return cls(entry["check"], entry["severity"], entry["message"], numbers, entry.get("next_step", ""))


@dataclass(frozen=True)
class Review:
    """An ordered collection of findings with an overall verdict.

    Parameters
    ----------
    findings : tuple of Finding, default=()

    Examples
    --------
    >>> review = Review((Finding("a", "pass", "fine"), Finding("b", "review", "look", {"x": 1}, "do y")))
    >>> review.verdict
    'review'
    >>> [f.check for f in review.problems()]
    ['b']
    """

    findings: tuple[Finding, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(self.findings))

    @property
    def verdict(self) -> Severity:
        """The worst severity of any finding; ``"pass"`` for an empty review."""
        if not self.findings:
            return "pass"
        return max((f.severity for f in self.findings), key=SEVERITIES.index)

    def with_severity(self, *severities: Severity) -> tuple[Finding, ...]:
        """The findings whose severity is one of ``severities``, in order."""
        return tuple(f for f in self.findings if f.severity in severities)

    def problems(self) -> tuple[Finding, ...]:
        """The findings that did not pass (``review`` and ``fail``), in order."""
        return self.with_severity("review", "fail")

    def get(self, check: str) -> Finding | None:
        """The finding of check ``check``, or ``None`` when that check did not run."""
        return next((f for f in self.findings if f.check == check), None)

    @property
    def checks(self) -> tuple[str, ...]:
        """The names of the checks, in order."""
        return tuple(f.check for f in self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __add__(self, other: Review) -> Review:
        return Review(self.findings + other.findings)

    def to_dict(self) -> dict[str, Any]:
        """``{"verdict": ..., "findings": [...]}``, the ``review`` entry of ``summary.json``."""
        return {"verdict": self.verdict, "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> Review:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(Finding.from_dict(entry) for entry in payload.get("findings", [])))
