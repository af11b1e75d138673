"""The report's charts by name, drawn in this process or, alongside it, in a helper process.

Drawing the eight charts is the longest single step of writing an output folder (0.66 s of a
4.5 s ``mediamix fit`` of the demo, 2-CPU machine), and it ran while the second CPU was idle.
:func:`chart_executor` starts one helper process early (the command starts it before fitting, so
its imports and matplotlib's first draw overlap the fit); :class:`ChartDrawing` hands it every
chart as soon as the report's data exist, the caller writes the rest of the folder meanwhile, and
:meth:`ChartDrawing.result` draws here, from the other end of the list, each chart the helper has
not started yet. The PNGs are the same bytes wherever they are drawn (a test checks). Measured on
the demo, warm caches, 5 alternating pairs: ``mediamix fit`` 4.34-4.49 s (median 4.46) with the
helper, 4.47-4.70 s (4.62) without; the two processes contend for memory bandwidth, so the
helper's charts take ~1.5x as long as alone and the saving is about a quarter of the drawing.

Without an executor, or when the helper cannot start or dies, every chart is drawn here: the
executor only ever changes when a chart is drawn, never what is drawn.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import BrokenExecutor, Executor, Future

from mediamix.report import figures
from mediamix.report.data import ReportData

__all__ = ["CHARTS", "ChartDrawing", "chart_executor", "draw_charts"]

#: The report's charts by name (the keys the template uses), slowest first (demo, seconds:
#: prior/posterior 0.22, fit 0.08, spend 0.07, response 0.07, waterfall 0.07, decomposition 0.06,
#: adstock 0.04, share 0.04): a helper takes them from the front, this process from the back.
CHARTS: Mapping[str, Callable[[ReportData], bytes]] = {
    "priors": figures.prior_posterior_chart,
    "fit": figures.fit_chart,
    "spend": figures.spend_chart,
    "response": figures.response_chart,
    "waterfall": figures.waterfall_chart,
    "decomposition": figures.decomposition_chart,
    "adstock": figures.adstock_chart,
    "share": figures.share_chart,
}


def _draw(name: str, data: ReportData) -> bytes:
    """One chart's PNG (run in the helper: a module-level function, so it pickles by name)."""
    return CHARTS[name](data)


def _exit_fast() -> None:
    """Have the helper leave without tearing down its interpreter (the caller waits for it at exit).

    By the time the helper exits, every result it computed has been written to its result pipe;
    what remains (matplotlib's, pandas' and SciPy's objects) needs no cleanup, and Python's
    finalization of it kept the caller waiting ~0.3 s at exit.
    """
    atexit.register(os._exit, 0)


def _warm_up() -> None:
    """Import matplotlib and draw once, so that the helper's first real chart costs what the others do."""
    figures.warm_up()


class ChartDrawing:
    """The report's charts, handed to ``executor`` now and collected by :meth:`result`.

    Parameters
    ----------
    data : ReportData
        What the charts show (pickled to the helper: plain values, no model).
    executor : concurrent.futures.Executor, optional
        Where to draw besides this process, e.g. from :func:`chart_executor`; ``None`` draws
        everything in :meth:`result`.
    """

    def __init__(self, data: ReportData, executor: Executor | None = None) -> None:
        self._data = data
        self._futures: dict[str, Future[bytes]] = {}
        if executor is None:
            return
        for name in CHARTS:
            try:
                self._futures[name] = executor.submit(_draw, name, data)
            except (BrokenExecutor, RuntimeError):  # the helper died, or was shut down: draw here
                break

    def result(self) -> dict[str, bytes]:
        """Every chart's PNG bytes by name, in :data:`CHARTS` order.

        Draws here each chart the helper has not started (from the back of the list), then waits
        for the helper's. A chart that fails raises here as it would have without a helper; a
        helper that died mid-way costs nothing but time (its charts are drawn here).
        """
        drawn: dict[str, bytes] = {}
        for name in reversed(CHARTS):
            future = self._futures.get(name)
            if future is not None and not future.cancel():
                break  # the helper has this one: and, taking them in order, every one before it
            drawn[name] = CHARTS[name](self._data)
        for name, future in self._futures.items():
            if name not in drawn:
                try:
                    drawn[name] = future.result()
                except BrokenExecutor:
                    drawn[name] = CHARTS[name](self._data)
        return {name: drawn[name] for name in CHARTS}


def draw_charts(data: ReportData, executor: Executor | None = None) -> dict[str, bytes]:
    """Every chart of the report as PNG bytes, by name (see :class:`ChartDrawing`)."""
    return ChartDrawing(data, executor).result()


@contextlib.contextmanager
def chart_executor() -> Iterator[Executor | None]:
    """A helper process for :class:`ChartDrawing`, started now and warmed up; ``None`` where it cannot help.

    ``None`` on a single CPU, or where processes cannot be started (a sandbox without
    semaphores): callers then draw in their own process. The helper is started with ``spawn``
    (not ``fork``: the caller may hold threads, e.g. the sampler's) and imports only the report
    package and matplotlib; it is shut down, unfinished work cancelled, when the block ends.
    """
    if (os.cpu_count() or 1) < 2:
        yield None
        return
    from concurrent.futures import ProcessPoolExecutor  # here: its import is 0.05 s of `import mediamix`

    try:
        executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_exit_fast)
        executor.submit(_warm_up)
    except (OSError, RuntimeError, NotImplementedError):  # no semaphores / process limits
        yield None
        return
    try:
        yield executor
    finally:
        executor.shutdown(wait=False, cancel_futures=True)

