"""Data layer: read, validate, scale and simulate the input table.

Layer rule: this package uses pandas, xarray and NumPy only; it never imports
PyMC or PyTensor, so data checks run (and fail fast) without the modeling stack.
"""

from mediamix.data.load import read_table
from mediamix.data.validate import validate_data

__all__ = ["read_table", "validate_data"]
