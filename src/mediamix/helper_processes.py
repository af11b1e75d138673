"""Helper processes: when this process may fork one, and a job run in one.

On a machine with two or more CPUs, mediamix lets a forked helper do part of the work that would
otherwise wait on one CPU: the report's charts (:mod:`mediamix.report.chart_process`) and one of the
model's compiled functions (:mod:`mediamix.inference.callbacks`). A fork copies this process as it
is, so it is only made where that is safe and likely to pay: on Linux (forking without exec is
unsafe on macOS), beside no other Python thread, before JAX is imported (its threads make a fork
unsafe, and it says so at every fork), and with a CPU to spare (:func:`a_cpu_to_spare`).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "CGROUP_CPU_MAX", "HARMLESS_THREAD_MODULES", "ForkedJob", "a_cpu_to_spare", "jax_loaded", "may_fork",
    "other_threads", "usable_cpus",
]

#: Where Linux (cgroup v2) states a container's CPU quota: "max 100000" or e.g. "150000 100000".
CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"


#: Modules whose threads leave a forked child alone: rich's refresh thread only redraws a spinner
#: (``mediamix fit`` shows one while it compiles), under rich's own lock; a helper never uses rich.
HARMLESS_THREAD_MODULES = frozenset({"rich.live"})


def may_fork() -> bool:
    """Whether a helper may be forked now: Linux, no other Python thread (but harmless ones, see
    :data:`HARMLESS_THREAD_MODULES`), no JAX, a CPU to spare."""
    return (sys.platform.startswith("linux") and not other_threads() and not jax_loaded()
            and a_cpu_to_spare())


def other_threads() -> list[threading.Thread]:
    """The Python threads besides this one that a fork could catch halfway through something."""
    current = threading.current_thread()
    return [t for t in threading.enumerate()
            if t is not current and type(t).__module__ not in HARMLESS_THREAD_MODULES]


def jax_loaded() -> bool:
    """Whether JAX is imported (not only ArviZ's lazy placeholder): its threads make a fork unsafe,
    and it says so at every fork."""
    module = sys.modules.get("jax")
    return module is not None and not isinstance(module, importlib.util._LazyModule)  # noqa: SLF001


def a_cpu_to_spare() -> bool:
    """Whether a CPU is likely idle for a helper: two or more usable, and the last minute's load
    leaving one free (besides this process). With every CPU busy a helper only competes: with
    another program keeping the second CPU busy, demo fits took 4.5-4.65 s with the chart helper and
    4.15-4.4 s without (alternating pairs). Lowering the helper's priority (``nice 10``) did not help
    that case enough and took away the gain on an idle machine (3.59 -> 4.00 s, none 3.94 s)."""
    cpus = usable_cpus()
    try:
        load = os.getloadavg()[0]  # the whole machine's, also in a container
    except OSError:  # not obtainable: assume busy
        return False
    return cpus >= 2 and load < cpus - 0.25


def usable_cpus() -> float:
    """CPUs this process may use: its affinity, capped by a cgroup (v2) CPU quota (containers)."""
    try:
        cpus: float = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path(CGROUP_CPU_MAX).read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, int(quota) / int(period))
    except (OSError, ValueError):  # no cgroup v2 file, or not readable: no quota known
        pass
    return cpus


class ForkedJob:
    """``job()`` run in a forked child, for its side effects (e.g. files it writes); nothing comes back.

    The child runs quietly (its standard output and error go to ``/dev/null``, warnings are
    ignored, SIGINT is left to the parent) and ends with ``os._exit``: 0 when ``job`` returned, 1 when
    it raised. Whoever relies on the job's effect checks them itself and redoes what is missing, so a
    failed or killed child costs time, never a result.

    Parameters
    ----------
    job : callable
        Called without arguments in the child.
    """

    def __init__(self, job: Callable[[], object]) -> None:
        self._pid: int | None = None
        with warnings.catch_warnings():  # Python warns at every fork of a process that has threads;
            warnings.simplefilter("ignore", DeprecationWarning)  # callers check may_fork() first
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child (coverage does not follow it)
            _run_child(job)
        self._pid = pid

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the child; True when it finished its job.

        A child still running after ``timeout`` is killed (and False returned).
        """
        if self._pid is None:
            return False
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            pid, status = os.waitpid(self._pid, os.WNOHANG)
            if pid:
                self._pid = None
                return os.waitstatus_to_exitcode(status) == 0
            if time.monotonic() >= deadline:
                self.kill()
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def kill(self) -> None:
        """Kill the child (if still running) and reap it."""
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # pragma: no cover - already gone
            pass
        os.waitpid(pid, 0)


def _run_child(job: Callable[[], object]) -> None:  # pragma: no cover - runs in the child
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it kills us
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        sys.stdout = sys.stderr = open(devnull, "w", closefd=False)  # noqa: SIM115 - ends with the process
        warnings.simplefilter("ignore")
        job()
        code = 0
    finally:
        os._exit(code)
