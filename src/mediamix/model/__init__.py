"""Model layer: the design (scaled arrays) and the PyMC model built from it.

Layer rule: imports config, priors, transforms, data and errors. ``build`` imports
PyMC; ``design`` does not, so analysis code can use designs without PyMC. This
``__init__`` imports neither eagerly.
"""

__all__ = ["build", "design"]
