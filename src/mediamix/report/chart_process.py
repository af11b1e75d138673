"""A second process that draws some of the report's charts while this one writes the rest.

Everything after sampling runs on one CPU: the summary, the tables, ``posterior.nc`` and the eight
charts (0.68 s of the demo's warm 3.8 s ``mediamix fit``, 2-CPU machine). A :class:`ChartProcess`
is a copy of this process (``fork``) made when a command begins, before the fit: while this process
imports PyMC and compiles (one CPU idle then), it imports matplotlib and loads the fonts, says it is
ready, and waits. Once the model is fitted it gets a copy of it, makes the report's inputs (the
chart tables among them: ``MMM.save``), sends them back and draws :data:`CHARTS_THERE`, while this
process makes the summary, writes the output files and draws the others; their PNGs come back and
go into the same report.

The two processes talk over two pipes: one pickled request (a :class:`~mediamix.report.data.ReportData`,
or a function that makes one, called there: :meth:`ChartProcess.draw`) and one pickled answer per
chart (its PNG, and the warnings it raised, issued here as if raised here: same category, file,
line and module, so warning filters apply), after the inputs it made, if it was asked to make them
(:meth:`Answer.made`). Neither end reads anything a user handed in: both are this program, and
each message is made by the other process. This process does not wait for the helper's charts:
once done with its own work it takes the charts the helper has finished and draws the others
itself, from the last one back, while the helper goes on from the first (the helper says when it
begins a chart: only the last one left, if the helper is on it, is waited for, up to
``charts.WAIT_FOR_BEGUN_S``); whatever the helper fails on (not ready, died, a chart's error) is
drawn here, where a real error is raised with its own traceback.
Inputs the helper makes are waited for (it is making them; making them here too would only take
its CPU), up to a limit; where it fails or takes longer they are made here. The report is
the same either way.

Forking is safe only while this process runs no other Python thread (native pools that handle a
fork, such as OpenBLAS's, may run) and has not imported JAX (whose threads do not), and only Linux
forks reliably without an ``exec`` (macOS's system libraries may not), so :meth:`ChartProcess.start`
declines otherwise; also on a single CPU or when the last minute's load leaves no CPU to spare,
where the helper would only compete (measured: 0.2-0.3 s slower then). The helper ignores
Ctrl-C (the terminal sends it to both processes; this one decides), never runs this process's exit
handlers or flushes its buffers (it ends with ``os._exit``), and is killed when the block that
started it ends. Only the CLI starts one (see :func:`charts_in_parallel`); library code draws in
its own process unless asked. It costs ~80 MB of memory of its own (demo; the rest is shared with
this process until either writes to it), plus, once it makes the report's inputs, its copy of the
fitted model and what it computes from it (the decomposition: draws x dates x components).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib.util
import logging
import os
import pickle
import select
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO

from mediamix.helper_processes import may_fork, own_helper_ended, own_helper_started

__all__ = ["CHARTS_THERE", "MADE", "Answer", "ChartProcess", "ChartProcessFailed", "charts_in_parallel", "current"]

_log = logging.getLogger(__name__)

#: The charts the helper draws, about two thirds of the drawing time (demo), so that both processes
#: finish together while this one also completes the summary (the model review) and writes the
#: files. None of them reads the summary beyond ``hdi_prob``: they may start before it exists. The
#: helper draws them in this order; when this process is done first, it draws them from the end.
CHARTS_THERE = ("priors", "fit", "response", "waterfall")

#: The name of the answer that carries the inputs the helper made (never a chart's name).
MADE = "(inputs)"

_READY = b"R"
_BEGUN = "begun"  # the status of the message the helper sends as it begins a chart
#: cgroup v2's CPU quota of this process's group ("max 100000", or quota and period in microseconds).
_CURRENT: contextvars.ContextVar[ChartProcess | None] = contextvars.ContextVar("mediamix_chart_process", default=None)


class ChartProcessFailed(RuntimeError):
    """The helper cannot take a request (not ready, or used already); draw the charts here."""


class ChartProcess:
    """A helper process that draws named charts of a :class:`~mediamix.report.data.ReportData`.

    Start one with :meth:`start` (None where it would not help or is not safe), hand it one
    request with :meth:`draw` once :meth:`ready`, and :meth:`close` it when done (also unused).
    """

    def __init__(self, pid: int, requests: int, answers: int) -> None:
        self.pid = pid
        self.owner = os.getpid()  # a process forked from the owner later must not use the pipes
        self._requests = requests  # write end of the request pipe
        self._answers = answers  # read end of the answer pipe
        self._ready = False
        self._reaped = False
        self._lock = threading.Lock()
        self._answer: Answer | None = None  # the request in flight, once drawn

    @classmethod
    def start(cls) -> ChartProcess | None:
        """Fork the helper, or None: not Linux, no CPU to spare, another Python thread or JAX here
        (unsafe to fork), or any error on the way (out of file descriptors or processes)."""
        opened: list[int] = []
        try:
            if not may_fork():
                return None
            requests_read, requests_write = os.pipe()
            opened += [requests_read, requests_write]
            answers_read, answers_write = os.pipe()
            opened += [answers_read, answers_write]
            with warnings.catch_warnings():
                # Python warns when any other thread exists; here only native pools that re-arm
                # themselves in a child (OpenBLAS's, jemalloc's background thread) run: no Python
                # thread (checked above) and no sampler yet.
                warnings.filterwarnings("ignore", message=r"This process .* is multi-threaded",
                                        category=DeprecationWarning)
                pid = os.fork()
        except OSError as err:
            _log.debug("chart process not started: %s", err)
            for fd in opened:
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
        own_helper_started(pid)  # its warm-up does not keep a compile helper from being forked (running_now)
        return cls(pid, requests_write, answers_read)

    def ready(self) -> bool:
        """Whether the helper has finished its imports and waits for a request (never blocks)."""
        if self._answer is not None or self._reaped or os.getpid() != self.owner:
            return False
        if not self._ready:
            poll = select.poll()  # not select.select: it fails for descriptors >= 1024
            poll.register(self._answers, select.POLLIN)
            if poll.poll(0):
                self._ready = os.read(self._answers, 1) == _READY  # b"" when it died
        return self._ready

    def draw(self, data: Any, names: Sequence[str]) -> Answer:
        """Have the helper draw ``names`` of ``data``, in that order; its PNGs arrive one by one.

        ``data``: the charts' inputs, or a function without arguments that makes them: the helper
        then calls (a pickled copy of) it first, and sends back what it made (:meth:`Answer.made`)
        before it draws. The work of making them moves to the helper's CPU with it.

        Raises
        ------
        ChartProcessFailed
            If the helper is not ready, or was used already (it serves one request).
        """
        if not self.ready():
            raise ChartProcessFailed("the chart process is not ready")
        request = pickle.dumps((tuple(names), data), protocol=pickle.HIGHEST_PROTOCOL)
        self._answer = Answer(self, request, makes=callable(data))
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
        own_helper_ended(self.pid)


class Answer:
    """The helper's answer to one request, chart by chart as it draws them (read by a thread)."""

    def __init__(self, helper: ChartProcess, request: bytes, *, makes: bool = False) -> None:
        self._helper = helper
        self._makes = makes  # asked to make the inputs (a function was sent)
        self._received: dict[str, tuple[str, Any, list[tuple[Any, ...]]]] = {}
        self._received_lock = threading.Lock()
        self._arrived = threading.Condition(self._received_lock)  # notified at each answer, and at the end
        self._ended = False  # no more answers will come
        self._drawing: str | None = None  # the chart the helper said it began last
        self._thread = threading.Thread(target=self._talk, args=(request,), name="mediamix-charts", daemon=True)
        self._thread.start()

    def _talk(self, request: bytes) -> None:
        helper = self._helper
        try:
            with open(helper._requests, "wb", closefd=False) as pipe:  # noqa: SLF001
                _send(pipe, request)
            with open(helper._answers, "rb", closefd=False) as pipe:  # noqa: SLF001
                while message := _receive(pipe):
                    try:
                        status, name, payload, caught = pickle.loads(message)  # from _serve, forked here
                    except Exception as err:  # noqa: BLE001 - e.g. a warning that does not unpickle: drawn here
                        _log.debug("chart process answer not read: %r", err)
                        continue
                    with self._arrived:
                        if status == _BEGUN:
                            self._drawing = name
                        else:
                            self._received[name] = (status, payload, caught)
                            if name == self._drawing:  # answered (take() may pop it before drawing() looks)
                                self._drawing = None
                        self._arrived.notify_all()
            with helper._lock:  # noqa: SLF001
                if not helper._reaped:  # noqa: SLF001
                    helper._reap()  # noqa: SLF001
        except Exception as err:  # a broken pipe or a cut message (the helper died or was killed)
            _log.debug("chart process answer ended: %r", err)
        finally:
            with self._arrived:
                self._ended = True
                self._arrived.notify_all()

    def _wait_for(self, name: str, timeout: float) -> None:
        """Until answer ``name`` arrived, no more answers will come, or ``timeout`` seconds passed."""
        with self._arrived:
            self._arrived.wait_for(lambda: name in self._received or self._ended, timeout)

    def drawing(self) -> str | None:
        """The chart the helper is drawing now (begun, not answered yet), if any."""
        with self._received_lock:
            return None if self._ended else self._drawing

    def wait_for(self, name: str, timeout: float) -> bytes | None:
        """Chart ``name``'s PNG as :meth:`take` gives it, waiting up to ``timeout`` seconds for it."""
        self._wait_for(name, timeout)
        return self.take(name)

    def made(self, timeout: float) -> Any | None:
        """The inputs the helper made (its warnings issued here), once it has sent them, or None:
        it was given the inputs (at once), failed to make them, died, or took more than ``timeout``
        seconds.

        This waits: the helper is making them right now, and making them here too would only take
        CPU time from it. A helper that fails or is too slow is stopped; the caller then makes the
        inputs itself (where a real error is raised, with its own traceback) and draws every chart.
        So is one whose warnings raise here (a filter that turns them into errors): made here, the
        same warnings are raised where the caller handles them.
        """
        if not self._makes:
            return None
        self._wait_for(MADE, timeout)
        with self._received_lock:
            status, payload, caught = self._received.pop(MADE, ("missing", None, []))
        if status == "ok":
            try:
                _reissue(caught)
                return payload
            except Exception:  # noqa: BLE001 - raised by a warning filter: made here again, see above
                pass
        self.cancel()
        return None

    def take(self, name: str) -> bytes | None:
        """Chart ``name``'s PNG if the helper has drawn it (its warnings issued here), else None.

        None also when the helper failed on it: the caller then draws it itself, and a real error
        is raised there, with its own traceback.
        """
        with self._received_lock:
            status, payload, caught = self._received.pop(name, ("missing", None, []))
        if status != "ok":
            return None
        _reissue(caught)
        return payload

    def cancel(self) -> None:
        """Stop the helper (its charts are no longer needed)."""
        self._helper.close()

    def wait(self) -> None:
        """Until the request is sent and every answer read (the helper ended or was killed)."""
        self._thread.join()


_REGISTRY: dict[Any, Any] = {}  # "once per location" memory for warnings from no imported module


def _reissue(caught: list[tuple[Any, ...]]) -> None:
    """Issue warnings recorded in the helper as if raised here, where they were (filters by module
    work, and a warning this process raised at the same place already is not shown twice: its
    module's own registry, as ``warnings.warn`` keeps it)."""
    for message, category, filename, lineno, module in caught:
        if isinstance(message, str):  # an instance that did not pickle
            try:
                message = category(message)
            except Exception:  # noqa: BLE001 - a category that needs more arguments
                message = UserWarning(f"{category.__name__}: {message}")
        namespace = getattr(sys.modules.get(module or ""), "__dict__", None)
        registry = namespace.setdefault("__warningregistry__", {}) if namespace is not None else _REGISTRY
        warnings.warn_explicit(message, type(message), filename, lineno, module=module, registry=registry)


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
    with warnings.catch_warnings():  # the transfer's own, if any: nothing this process would have raised
        warnings.simplefilter("ignore")
        names, data = pickle.loads(request)  # sent by the process this one was forked from
    with open(answers, "wb") as pipe:
        if callable(data):  # make the inputs first, and send them back
            status, data = _run_and_answer(pipe, MADE, data)
            if status != "ok":  # the parent makes them, and draws every chart
                return
        for name in names:
            _send(pipe, pickle.dumps((_BEGUN, name, None, []), protocol=pickle.HIGHEST_PROTOCOL))
            _run_and_answer(pipe, name, functools.partial(CHARTS[name], data))


def _run_and_answer(pipe: BinaryIO, name: str, work: Callable[[], Any]) -> tuple[str, Any]:  # pragma: no cover
    """In the helper: ``work()`` (recording its warnings), its result or error sent as answer ``name``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status, payload = "ok", work()
        except Exception as err:  # done again by the parent, which raises it there
            status, payload = "error", repr(err)
    found = [(_picklable(w.message), w.category, w.filename, w.lineno, _module_of(w.filename)) for w in caught]
    try:
        message = pickle.dumps((status, name, payload, found), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as err:  # noqa: BLE001 - a result that does not pickle: the parent does it itself
        status, payload = "error", repr(err)
        message = pickle.dumps((status, name, payload, []), protocol=pickle.HIGHEST_PROTOCOL)
    _send(pipe, message)
    return status, payload


def _module_of(filename: str) -> str | None:
    """The name of the imported module at ``filename`` (what warning filters match), if any."""
    path = os.path.abspath(filename)
    for name, module in list(sys.modules.items()):
        if isinstance(module, importlib.util._LazyModule):  # noqa: SLF001 - looking would import it
            continue
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and os.path.abspath(file) == path:
            return name
    return None


def _picklable(message: Warning) -> Warning | str:
    """The warning itself if it survives a round trip through pickle (a category whose ``__init__``
    takes other arguments does not), else its text."""
    try:
        pickle.loads(pickle.dumps(message))
    except Exception:  # noqa: BLE001
        return str(message)
    return message


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
