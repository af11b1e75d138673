"""Model review: data checks before the fit, a health verdict after it.

Every check returns a :class:`Finding` (severity ``pass`` / ``review`` / ``fail``,
the numbers, a next step); a :class:`Review` collects them under a verdict, the
worst severity.

- :func:`check_data`: a validated table against a config, before fitting.
- :func:`review_fit`: a posterior against the data, after fitting.

Layer rule: imports :mod:`mediamix.analysis`, :mod:`mediamix.inference.diagnostics`,
:mod:`mediamix.model.design`, config, priors, data, transforms and errors; never
PyMC or PyTensor (import-linter checks it).
"""

from mediamix.review.data_checks import check_data, count_parameters
from mediamix.review.findings import SEVERITIES, Finding, Review, Severity
from mediamix.review.fit_review import review_fit
from mediamix.review.overlap import prior_posterior_overlap

__all__ = [
    "SEVERITIES",
    "Finding",
    "Review",
    "Severity",
    "check_data",
    "count_parameters",
    "prior_posterior_overlap",
    "review_fit",
]
