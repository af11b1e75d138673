"""Helper processes: when this process may fork one, and a job run in one.

On a machine with two or more CPUs, mediamix lets a forked helper do part of the work that would
otherwise wait on one CPU: the report's charts (:mod:`mediamix.report.chart_process`) and part of
a cold compile of the model (:mod:`mediamix.inference.samplers`). A fork copies this process as it
is, so it is only made where that is safe and likely to pay: on Linux (forking without exec is
unsafe on macOS), beside no other Python thread, before JAX is imported (its threads make a fork
unsafe, and it says so at every fork), and with a CPU to spare (:func:`a_cpu_to_spare`).
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import importlib.util
import logging
import os
import select
import signal
import struct
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

__all__ = [
    "CGROUP_CPU_MAX", "HARMLESS_THREAD_MODULES", "PROC_STAT", "ForkedJob", "HelperSide", "a_cpu_to_spare", "fork_here",
    "groundwork", "jax_loaded", "lay_groundwork", "may_fork", "other_threads", "own_helper_ended", "own_helper_started",
    "parent_is_done", "running_now", "usable_cpus",
]

_log = logging.getLogger(__name__)

#: Where Linux (cgroup v2) states a container's CPU quota: "max 100000" or e.g. "150000 100000".
CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"
#: Where Linux counts the processes running right now (``procs_running``).
PROC_STAT = "/proc/stat"


#: Modules whose threads leave a forked child alone: rich's refresh thread only redraws a spinner
#: (``mediamix fit`` shows one while it compiles), under rich's own lock; a helper never uses rich.
HARMLESS_THREAD_MODULES = frozenset({"rich.live"})


class _Step:
    """A groundwork step and whether it has run (shared by the blocks that see it)."""

    __slots__ = ("done", "run")

    def __init__(self, run: Callable[[], object]) -> None:
        self.run = run
        self.done = False


#: Work this process will do later anyway, registered by :func:`groundwork` for its block.
_GROUNDWORK: contextvars.ContextVar[tuple[_Step, ...]] = contextvars.ContextVar("mediamix_groundwork", default=())


@contextlib.contextmanager
def groundwork(*steps: Callable[[], object]) -> Iterator[None]:
    """Register work this process will do later in the block anyway (imports, warm-ups), which it may
    do early instead (:func:`lay_groundwork`).

    A cold compile with a helper process lays it right after forking the helper: the two processes
    share the compile's ops as they go, so whatever this process does then, the helper spends
    compiling ops, and the block waits about half as long for it as when done later on one CPU. A
    step must be safe to run at any point of the block, and running it early must change no result.
    """
    token = _GROUNDWORK.set(_GROUNDWORK.get() + tuple(_Step(step) for step in steps))
    try:
        yield
    finally:
        _GROUNDWORK.reset(token)


def lay_groundwork() -> None:
    """Run the steps registered by the enclosing :func:`groundwork` blocks that have not run yet, in
    order; a step that fails is left for later, where the work it prepares raises its own error."""
    for step in _GROUNDWORK.get():
        if step.done:
            continue
        step.done = True
        try:
            step.run()
        except Exception as err:  # noqa: BLE001 - done again later, where it raises properly
            _log.debug("groundwork %r left for later: %r", step.run, err)


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
    """Whether a CPU is likely idle for a helper: two or more usable, and either the last minute's
    load or, right now, the processes that are running leave one free (besides this process and its
    own helpers, see :func:`running_now`).

    With every CPU busy a helper only competes: with another program keeping the second CPU busy,
    demo fits took 4.5-4.65 s with the chart helper and 4.15-4.4 s without (alternating pairs).
    Lowering the helper's priority (``nice 10``) did not help that case enough and took away the gain
    on an idle machine (3.59 -> 4.00 s, none 3.94 s). The minute's average lags: after a busy minute
    that has just ended (e.g. the previous command of a benchmark) it still says busy, hence the
    look at this moment too (:func:`running_now`).
    """
    cpus = usable_cpus()
    if cpus < 2:
        return False
    try:
        load = os.getloadavg()[0]  # the whole machine's, also in a container
    except OSError:  # not obtainable: assume busy
        return False
    return load < cpus - 0.25 or running_now() <= cpus - 1


def running_now(samples: int = 3, interval: float = 0.003) -> float:
    """Processes running or ready to run on the machine right now, this one included but not its own
    helpers (:func:`own_helper_started`): the most of ``samples`` reads of ``procs_running`` in
    ``/proc/stat`` (Linux), ``interval`` seconds apart; infinity when it cannot be read.

    An own helper does part of this process's work, and what it runs for at the start is short:
    the chart helper imports and warms up matplotlib for ~1 s when a fit begins, when the compile
    helper (~7 s of work) is forked. Counted, it kept the compile helper from being forked in 1 of
    5 cold fits run back to back (fit 14.9 s instead of 10.3-11.0 s to summary.json). (The compile
    helper is an own helper too; nothing asks for another one while it runs.)
    """
    most = 0
    try:
        for i in range(samples):
            if i:
                time.sleep(interval)
            with open(PROC_STAT, "rb") as stat:
                line = next(line for line in stat if line.startswith(b"procs_running "))
            most = max(most, int(line.split()[1]) - _own_helpers_running())
    except (OSError, StopIteration, ValueError):
        return float("inf")
    return most


#: This process's helpers (process ids) that may be running: see :func:`running_now`.
_OWN_HELPERS: set[int] = set()


def own_helper_started(pid: int) -> None:
    """Count the child ``pid`` as one of this process's helpers (until :func:`own_helper_ended`)."""
    _OWN_HELPERS.add(pid)


def own_helper_ended(pid: int) -> None:
    """The child ``pid`` is no longer one of this process's helpers (ended, or reaped)."""
    _OWN_HELPERS.discard(pid)


def _own_helpers_running() -> int:
    """How many of this process's helpers are running right now (state ``R`` in ``/proc/<pid>/stat``)."""
    running = 0
    for pid in list(_OWN_HELPERS):
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:  # ended and reaped meanwhile
            continue
        state, parent = stat[stat.rindex(b")") + 2:].split(maxsplit=2)[:2]
        running += state == b"R" and int(parent) == os.getpid()  # (not another process given its id)
    return running


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
    """``job(report)`` run in a forked child, for its side effects (e.g. files it writes) and one report.

    The child calls ``report(data)`` once what the parent waits for is done (``data``: bytes, e.g. a
    result); it may go on with optional work until it returns or the parent kills it. A job that
    returns without reporting reports ``b""``. The child runs quietly (its standard output and error
    go to ``/dev/null``, warnings are ignored, SIGINT is left to the parent), dies with its parent,
    and ends with ``os._exit``. Whoever relies on the job's effects checks them itself and redoes
    what is missing, so a failed or killed child costs time, never a result. The parent can tell
    the child that it is done with what the child works towards (:meth:`tell_done`, a ``SIGUSR1``);
    the child asks :func:`parent_is_done` between steps.

    Parameters
    ----------
    job : callable
        Called with ``report`` in the child.
    """

    def __init__(self, job: Callable[[Callable[[bytes], None]], object]) -> None:
        forked = fork_here()
        if isinstance(forked, HelperSide):  # pragma: no cover - the child (coverage does not follow it)
            forked.run(job)
        self._pid: int | None = forked._pid
        self._reports: int | None = forked._reports

    @classmethod
    def _of(cls, pid: int, reports: int) -> ForkedJob:
        """The parent's handle on a child forked by :func:`fork_here`."""
        job = cls.__new__(cls)
        job._pid, job._reports = pid, reports
        return job

    def wait(self, timeout: float, until: Callable[[], bool] | None = None) -> bytes | None:
        """The child's report, waiting up to ``timeout`` seconds; None when it ended without one (it
        failed) or did not report in time (then it is killed). The child may still be running.

        ``until``: checked every 20 ms; once it says True the wait ends as a timeout would.
        """
        if self._reports is None:
            return None
        deadline = time.monotonic() + timeout
        received = b""
        poller = select.poll()
        poller.register(self._reports, select.POLLIN | select.POLLHUP)
        while True:
            if len(received) >= _LENGTH.size:
                (size,) = _LENGTH.unpack_from(received)
                if len(received) >= _LENGTH.size + size:
                    return received[_LENGTH.size:_LENGTH.size + size]
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (until is not None and until()):
                self.kill()
                return None
            if not poller.poll((remaining if until is None else min(remaining, 0.02)) * 1000):
                continue  # nothing yet: check the time (and ``until``) again
            chunk = os.read(self._reports, 1 << 16)
            if not chunk:  # ended without a (whole) report
                self.kill()
                return None
            received += chunk

    def ended(self) -> bool:
        """Whether the child has ended (or been killed), without waiting and without reading its report."""
        if self._reports is None:
            return True
        poller = select.poll()
        poller.register(self._reports, select.POLLHUP)
        return any(events & (select.POLLHUP | select.POLLERR) for _, events in poller.poll(0))

    def tell_done(self) -> None:
        """Tell the child that the parent is done with what the child works towards (the child's
        :func:`parent_is_done` says so from then on); nothing if the child has ended."""
        if self._pid is not None:
            try:
                os.kill(self._pid, _DONE_SIGNAL)
            except ProcessLookupError:  # pragma: no cover - ended meanwhile
                pass

    def kill(self) -> None:
        """Kill the child (if still running) and reap it; safe to call again."""
        if self._reports is not None:
            os.close(self._reports)
            self._reports = None
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        own_helper_ended(pid)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):  # pragma: no cover - gone, or reaped for us
            pass  # (a host application that ignores SIGCHLD has the kernel reap its children)


_LENGTH = struct.Struct("<Q")  # a report's length, before its bytes
_DONE_SIGNAL = signal.SIGUSR1  # ForkedJob.tell_done -> the child's parent_is_done()
_parent_done = False  # in a child: whether the parent said it is done


def parent_is_done() -> bool:
    """In a :class:`ForkedJob`'s child: whether the parent has called ``tell_done`` (always False elsewhere)."""
    return _parent_done


def _note_parent_done(*_: object) -> None:  # pragma: no cover - runs in the child
    global _parent_done
    _parent_done = True


_PR_SET_PDEATHSIG = 1  # Linux prctl option: a signal for this process when its parent dies
_REPORT_END: int | None = None  # in a helper: the write end of its report pipe


def fork_here() -> ForkedJob | HelperSide:
    """Fork a helper that goes on from here: the parent gets the :class:`ForkedJob` (the child), the
    child its :class:`HelperSide`, set up as a ForkedJob's child is (quiet, dies with its parent).

    For a helper that does part of what the parent is about to do, from the same point of the same
    call stack (e.g. the compile helper of :mod:`mediamix.inference.samplers`). The caller must
    bracket the code the child may run: the child must end (:meth:`HelperSide.end`) before it could
    leave that code, whatever happens (a ``try``/``finally`` around the block, in the child); it must
    never run the parent's work beyond.
    """
    reports, report_end = os.pipe()
    parent = os.getpid()
    try:
        with warnings.catch_warnings():  # Python warns at every fork of a process that has threads;
            warnings.simplefilter("ignore", DeprecationWarning)  # callers check may_fork() first
            pid = os.fork()
    except OSError:
        os.close(reports)
        os.close(report_end)
        raise
    if pid == 0:  # pragma: no cover - the child (coverage does not follow it)
        os.close(reports)
        return HelperSide(report_end, parent)
    os.close(report_end)
    own_helper_started(pid)
    return ForkedJob._of(pid, reports)  # noqa: SLF001 - its own constructor


class HelperSide:  # pragma: no cover - lives in the child (coverage does not follow it)
    """The child's side of :func:`fork_here`: it reports once, and ends with ``os._exit``."""

    def __init__(self, report_end: int, parent: int) -> None:
        global _REPORT_END
        self._report_end = report_end
        self._reported = False
        _OWN_HELPERS.clear()  # the parent's, not this one's
        try:
            if _REPORT_END is not None:  # a helper's helper: its parent's report pipe is not its own to hold
                os.close(_REPORT_END)
            _REPORT_END = report_end
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # no orphan if the parent is killed
            if os.getppid() != parent:  # it died before that took effect
                os._exit(1)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it kills us
            signal.signal(_DONE_SIGNAL, _note_parent_done)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            sys.stdout = sys.stderr = open(devnull, "w", closefd=False)  # noqa: SIM115 - ends with the process
            warnings.simplefilter("ignore")
        except BaseException:
            os._exit(1)

    def report(self, data: bytes = b"") -> None:
        """Send the parent ``data`` (what :meth:`ForkedJob.wait` returns); only the first report counts."""
        if self._reported:
            return
        self._reported = True
        message = memoryview(_LENGTH.pack(len(data)) + data)
        while message:
            message = message[os.write(self._report_end, message):]

    def end(self, ok: bool) -> NoReturn:
        """End the child: ``ok`` reports ``b""`` if nothing was reported yet; else it ends as failed."""
        try:
            if ok:
                self.report()
        finally:
            os._exit(0 if ok else 1)

    def run(self, job: Callable[[Callable[[bytes], None]], object]) -> NoReturn:
        """Run ``job(report)``, then end (:meth:`end`)."""
        ok = False
        try:
            job(self.report)
            ok = True
        finally:
            self.end(ok)
