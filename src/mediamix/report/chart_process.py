"""A second process that draws some of the report's charts while this one writes the rest.

Everything after sampling runs on one CPU: the summary, the tables, ``posterior.nc`` and the eight
charts (0.68 s of the demo's warm 3.8 s ``mediamix fit``, 2-CPU machine). A :class:`ChartProcess`
is a copy of this process (``fork``) made when a command begins, before the fit: while this process
imports PyMC and compiles (one CPU idle then), it imports matplotlib and loads the fonts, says it is
ready, and waits. Once the report's inputs exist, it draws :data:`CHARTS_THERE` while this process
writes the output files and draws the others; their PNGs come back and go into the same report.

The two processes talk over two pipes: one pickled request (:class:`~mediamix.report.data.ReportData`,
made by this process) and one pickled answer (PNG bytes, and the warnings the charts raised, which are
re-issued here). Neither end reads anything a user handed in. Whenever the helper is not ready in
time, has died, or gives no answer within :data:`ANSWER_TIMEOUT_S`, this process draws those charts
itself, as it does without a helper: the report is the same either way, only later. A chart that
fails there fails as it would here (its error comes back and is raised here).

Forking is safe only while this process runs no other Python thread (native pools that handle a
fork, such as OpenBLAS's, may run) and has not imported JAX (whose threads do not), and only Linux
forks reliably without an ``exec`` (macOS's system libraries may not), so :meth:`ChartProcess.start`
declines otherwise, and on a single CPU, where the helper would only compete. The helper ignores
Ctrl-C (the terminal sends it to both processes; this one decides), never runs this process's exit
handlers or flushes its buffers (it ends with ``os._exit``), and is killed when the block that
started it ends. Only the CLI starts one (see :func:`charts_in_parallel`); library code draws in
its own process unless asked. It costs ~80 MB of memory of its own (demo; the rest is shared with
this process until either writes to it).
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import logging
import os
import pickle
import select
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

__all__ = ["ANSWER_TIMEOUT_S", "CHARTS_THERE", "ChartProcess", "ChartProcessFailed", "charts_in_parallel", "current"]

_log = logging.getLogger(__name__)

#: The charts the helper draws, about two thirds of the drawing time (demo), so that both processes
#: finish together while this one also completes the summary (the model review) and writes the
#: files. None of them reads the summary beyond ``hdi_prob``: they may start before it exists. The
#: helper draws them in this order; when this process is done first, it draws them from the end.
CHARTS_THERE = ("priors", "fit", "response", "waterfall")

#: Seconds to wait for the helper's charts before drawing them here instead.
ANSWER_TIMEOUT_S = 120.0

_READY = b"R"
_CURRENT: contextvars.ContextVar[ChartProcess | None] = contextvars.ContextVar("mediamix_chart_process", default=None)


class ChartProcessFailed(RuntimeError):
    """The helper gave no charts (not ready, died, timed out); draw them here."""


class ChartProcess:
    """A helper process that draws named charts of a :class:`~mediamix.report.data.ReportData`.

    Start one with :meth:`start` (None where it would not help or is not safe), hand it one
    request with :meth:`draw` once :meth:`ready`, and :meth:`close` it when done (also unused).
    """

    def __init__(self, pid: int, requests: int, answers: int) -> None:
        self.pid = pid
        self._requests = requests  # write end of the request pipe
        self._answers = answers  # read end of the answer pipe
        self._ready = False
        self._reaped = False
        self._lock = threading.Lock()
        self._answer: _Answer | None = None  # the request in flight, once drawn

    @classmethod
    def start(cls) -> ChartProcess | None:
        """Fork the helper, or None: not Linux, no CPU to spare, or another Python thread or JAX here (unsafe to fork)."""
        if (not sys.platform.startswith("linux") or not _a_cpu_to_spare() or threading.active_count() > 1
                or _jax_loaded()):
            return None
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        try:
            with warnings.catch_warnings():
                # Python warns when any other thread exists; here only native pools that re-arm
                # themselves in a child (OpenBLAS's, jemalloc's background thread) run: no Python
                # thread (checked above) and no sampler yet.
                warnings.filterwarnings("ignore", message=r"This process .* is multi-threaded",
                                        category=DeprecationWarning)
                pid = os.fork()
        except OSError as err:  # pragma: no cover - out of processes or memory
            _log.debug("chart process not started: %s", err)
            for fd in (requests_read, requests_write, answers_read, answers_write):
                os.close(fd)
            return None
        if pid == 0:  # pragma: no cover - the helper (coverage does not follow forks)
            status = 1
            try:
                os.close(requests_write)
                os.close(answers_read)
                _serve(requests_read, answers_write)
                status = 0
            finally:
                os._exit(status)  # never this process's exit handlers or buffers
        os.close(requests_read)
        os.close(answers_write)
        return cls(pid, requests_write, answers_read)

    def ready(self) -> bool:
        """Whether the helper has finished its imports and waits for a request (never blocks)."""
        if self._answer is not None or self._reaped:
            return False
        if not self._ready and select.select([self._answers], [], [], 0)[0]:
            self._ready = os.read(self._answers, 1) == _READY  # b"" when it died
        return self._ready

    def draw(self, data: Any, names: Sequence[str]) -> _Answer:
        """Have the helper draw ``names`` of ``data``; the answer's ``result()`` waits for the PNGs.

        Raises
        ------
        ChartProcessFailed
            If the helper is not ready, or was used already (it serves one request).
        """
        if not self.ready():
            raise ChartProcessFailed("the chart process is not ready")
        request = pickle.dumps((tuple(names), data), protocol=pickle.HIGHEST_PROTOCOL)
        self._answer = _Answer(self, request)
        return self._answer

    def close(self) -> None:
        """End the helper if it still runs, reap it and close the pipes."""
        with self._lock:
            if not self._reaped:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self._reap()
        if self._answer is not None:  # its thread ends with the helper; only then may the pipes close
            self._answer.wait()
        with self._lock:
            for fd in (self._requests, self._answers):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._requests = self._answers = -1

    def _reap(self) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        self._reaped = True


class _Answer:
    """The helper's answer to one request: a thread sends the request and reads the answer."""

    def __init__(self, helper: ChartProcess, request: bytes) -> None:
        self._helper = helper
        self._answer = b""
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._talk, args=(request,), name="mediamix-charts", daemon=True)
        self._thread.start()

    def _talk(self, request: bytes) -> None:
        helper = self._helper
        try:
            with open(helper._requests, "wb", closefd=False) as pipe:  # noqa: SLF001
                _send(pipe, request)
            with open(helper._answers, "rb", closefd=False) as pipe:  # noqa: SLF001
                self._answer = _receive(pipe)
            with helper._lock:  # noqa: SLF001
                if not helper._reaped:  # noqa: SLF001
                    helper._reap()  # noqa: SLF001
        except BaseException as err:  # a broken pipe (helper died): reported by result()
            self._error = err

    def done(self) -> bool:
        """Whether the answer is in (or the helper is gone); never blocks."""
        return not self._thread.is_alive()

    def wait(self) -> None:
        """Until the request is sent and the answer read (the helper ended or was killed)."""
        self._thread.join()

    def result(self) -> dict[str, bytes]:
        """The charts by name; re-issues the helper's warnings and re-raises a chart's error.

        Raises
        ------
        ChartProcessFailed
            If the helper gave no answer (the caller draws the charts itself).
        """
        self._thread.join(ANSWER_TIMEOUT_S)
        if self._thread.is_alive():
            self._helper.close()  # killed: the thread's read ends
            raise ChartProcessFailed(f"the chart process gave no answer within {ANSWER_TIMEOUT_S:.0f} s")
        if self._error is not None:
            raise ChartProcessFailed(f"the chart process could not be reached: {self._error!r}")
        try:
            status, payload, caught = pickle.loads(self._answer)  # written by _serve in the process forked here
        except Exception as err:
            raise ChartProcessFailed(f"the chart process gave no answer ({err!r})") from None
        for category, message in caught:
            warnings.warn(message, category, stacklevel=2)
        if status == "error":
            raise payload
        return dict(payload)


def _jax_loaded() -> bool:
    """Whether JAX is imported (not only ArviZ's lazy placeholder): its threads make a fork unsafe,
    and it says so at every fork."""
    module = sys.modules.get("jax")
    return module is not None and not isinstance(module, importlib.util._LazyModule)  # noqa: SLF001


def _a_cpu_to_spare() -> bool:
    """Whether a CPU is likely idle for the helper: two or more usable, and the last minute's load
    leaving one free (besides this process). With every CPU busy the helper only competes: with
    another program keeping the second CPU busy, demo fits took 4.5-4.65 s with it and 4.15-4.4 s
    without (alternating pairs). Lowering the helper's priority (``nice 10``) did not help that case
    enough and took away the gain on an idle machine (3.59 -> 4.00 s, none 3.94 s)."""
    cpus = _usable_cpus()
    return cpus >= 2 and os.getloadavg()[0] < cpus - 0.25


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity
        return os.cpu_count() or 1


def current() -> ChartProcess | None:
    """The helper of the innermost :func:`charts_in_parallel` block, if any."""
    return _CURRENT.get()


@contextlib.contextmanager
def charts_in_parallel() -> Iterator[ChartProcess | None]:
    """Start a :class:`ChartProcess` for the block: reports written inside draw part of their charts there.

    Enter it early (before a fit), so that the helper's imports overlap with the fit's. Yields the
    helper, or None where there is none (see :meth:`ChartProcess.start`); ends it with the block.
    """
    helper = ChartProcess.start()
    token = _CURRENT.set(helper)
    try:
        yield helper
    finally:
        _CURRENT.reset(token)
        if helper is not None:
            helper.close()


def _serve(requests: int, answers: int) -> None:  # pragma: no cover - runs in the helper
    """The helper: import and warm up, say ready, draw one request's charts, answer."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from mediamix.report.charts import CHARTS, warm_up

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm_up()
    os.write(answers, _READY)
    with open(requests, "rb") as pipe:
        request = _receive(pipe)
    if not request:  # the command ended without a report
        return
    names, data = pickle.loads(request)  # sent by the process this one was forked from
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            reply: tuple[str, Any] = ("ok", {name: CHARTS[name](data) for name in names})
        except Exception as err:
            reply = ("error", err)
    found = [(w.category, str(w.message)) for w in caught]
    try:
        message = pickle.dumps((*reply, found), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an error that does not pickle: send what it said
        message = pickle.dumps(("error", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}"), found))
    with open(answers, "wb") as pipe:
        _send(pipe, message)


# Messages carry their length: the end of a pipe cannot mark the end of a message, since a process
# forked here later (PyMC's samplers) holds a copy of the pipe's write end while it runs.
_LENGTH = 8


def _send(pipe: BinaryIO, message: bytes) -> None:
    pipe.write(len(message).to_bytes(_LENGTH, "little"))
    pipe.write(message)
    pipe.flush()


def _receive(pipe: BinaryIO) -> bytes:
    """One message; empty if the pipe ends first (the other process ended or was killed)."""
    header = pipe.read(_LENGTH)
    if len(header) < _LENGTH:
        return b""
    return pipe.read(int.from_bytes(header, "little"))
