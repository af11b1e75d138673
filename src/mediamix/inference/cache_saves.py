"""Saving to numba's on-disk cache from two processes at once (the compile helper and this process).

numba saves an entry by reading the function's index file, writing it back with the entry added,
then writing the entry's data file, without a lock. Two processes saving entries of one function at
once can lose an entry, or leave the index naming one signature while the data file holds the
other's code, which a later process then loads and fails on (found in review, reproduced: PyTensor
keys an op's cache by the op's properties, so several nodes of one graph share an index file with
different argument layouts). :func:`saves_locked` makes each save exclusive across processes (an
``flock`` on one file per cache folder); :func:`save_only` keeps a helper from saving anything but
what it was asked for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from typing import Any

__all__ = ["LOCK_FILE", "save_only", "saves_locked"]

#: The lock file, in each cache folder saved to.
LOCK_FILE = ".mediamix-saves.lock"


@contextlib.contextmanager
def saves_locked() -> Iterator[None]:
    """Inside, every numba cache save of this process (and of processes forked inside) holds the
    cache folder's lock. Saves are quick (one index and one object file)."""
    from numba.core.caching import IndexDataCacheFile

    save = IndexDataCacheFile.save

    def locked_save(self: Any, key: Any, data: Any) -> None:
        with open(os.path.join(self._cache_path, LOCK_FILE), "a") as lock:  # noqa: SLF001
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            save(self, key, data)

    IndexDataCacheFile.save = locked_save  # type: ignore[method-assign]
    try:
        yield
    finally:
        IndexDataCacheFile.save = save  # type: ignore[method-assign]


def save_only() -> set[str]:
    """For a helper process: from now on numba saves only entries of functions whose cache key is in
    the returned set (add keys to it as they are decided). For good: the process is a helper's."""
    from numba.core.caching import IndexDataCacheFile

    keys: set[str] = set()
    save = IndexDataCacheFile.save

    def save_if_asked(self: Any, key: Any, data: Any) -> None:
        if any(k in self._index_name for k in keys):  # noqa: SLF001
            save(self, key, data)

    IndexDataCacheFile.save = save_if_asked  # type: ignore[method-assign]
    return keys
