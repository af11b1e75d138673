"""Small PyTensor functions on the Python VM, without building PyTensor's C VM first.

A compile for nutpie also makes two small functions that run once or twice per fit on PyTensor's
Python VM: PyMC's initial-point function and nutpie's shape function (``FAST_COMPILE``). Linking
them imports the VM's module, which, when a C compiler is configured, also loads the C VM, and on
empty caches first builds it with g++: 0.37 s of the demo's cold compile, for a VM these functions
never use. :func:`without_c_vm` runs such a compile with PyTensor's compiler switched off.

Only around these functions: without a compiler PyTensor also rewrites graphs differently (e.g. its
elemwise fusion stops at 32 operands), and the demo's numba logp function took 2.3 s longer to
compile that way. The switch is PyTensor's global config, so a PyTensor compile in another thread
at that moment would run without a compiler too (its rewritten graphs are cached under their own
key, see :mod:`mediamix.inference.rewrite_cache`).
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["without_c_vm", "without_c_vm_when_called"]

_C_VM_MODULE = "pytensor.link.c.cvm"


@contextlib.contextmanager
def without_c_vm() -> Iterator[None]:
    """PyTensor without a C compiler for the block (see the module docstring).

    If PyTensor's C VM module is first imported in the block (without a compiler it then lacks the
    C VM), it is forgotten afterwards, so that a later import, with the compiler back, makes it whole.
    """
    import pytensor

    imported = _C_VM_MODULE in sys.modules
    try:
        with pytensor.config.change_flags(cxx=""):
            yield
    finally:
        if not imported and not hasattr(sys.modules.get(_C_VM_MODULE), "CVM"):
            sys.modules.pop(_C_VM_MODULE, None)


def without_c_vm_when_called(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, run :func:`without_c_vm` at every call."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with without_c_vm():
            return function(*args, **kwargs)

    return call
