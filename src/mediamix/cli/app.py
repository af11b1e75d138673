"""The ``mediamix`` command: parse, call the library, print. Errors exit with code 2."""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from mediamix.errors import MediamixError

__all__ = ["app", "main", "chart_helper", "err_console", "console", "handle_errors", "REVIEW_FAILED_EXIT_CODE"]

console = Console()
err_console = Console(stderr=True)

#: Exit code when a review's verdict is ``fail`` (``mediamix check``, ``mediamix fit --strict``):
#: distinct from 1 (an unexpected crash) and 2 (unusable input), so scripts can tell them apart.
REVIEW_FAILED_EXIT_CODE = 3

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn a :class:`MediamixError` into a one-line message on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MediamixError as err:
            # escape: messages hold config sections ("[model]") and user names ("tv [eur]") that are not markup
            err_console.print(f"[bold red]Error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def with_chart_helper(func: F) -> F:
    """Run a command that writes a report inside :func:`chart_helper`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with chart_helper():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


app = typer.Typer(
    name="mediamix",
    help="Bayesian media mix modeling: attribution, ROAS and budget allocation with honest uncertainty.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
simulate_app = typer.Typer(help="Write simulated data sets with known truth.", no_args_is_help=True)
app.add_typer(simulate_app, name="simulate")


def _register() -> None:
    from mediamix.cli import check, demo, fit, optimize, predict, report, simulate, summary

    app.command("check")(handle_errors(check.check_command))
    app.command("fit")(handle_errors(with_chart_helper(fit.fit_command)))
    app.command("demo")(handle_errors(with_chart_helper(demo.demo_command)))
    app.command("summary")(handle_errors(summary.summary_command))
    app.command("optimize")(handle_errors(optimize.optimize_command))
    app.command("predict")(handle_errors(predict.predict_command))
    app.command("report")(handle_errors(with_chart_helper(report.report_command)))
    simulate_app.command("seed")(handle_errors(simulate.seed_command))
    simulate_app.command("dataset")(handle_errors(simulate.dataset_command))

    @app.callback(invoke_without_command=True)
    def _root(
        version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
    ) -> None:
        if version:
            from mediamix._version import __version__

            console.print(f"mediamix {__version__}")
            raise typer.Exit()


_register()


def main() -> None:
    """Entry point of the ``mediamix`` console script."""
    global _charts_in_parallel
    _compile_for_one_run()
    _collect_cycles_never()
    _charts_in_parallel = True
    app()


#: Whether commands that write a report start a helper process for its charts (the console script only).
_charts_in_parallel = False


#: Set to ``0`` to keep the console script from starting the chart helper (e.g. where memory is tight).
CHART_PROCESS_ENV = "MEDIAMIX_CHART_PROCESS"


def chart_helper() -> contextlib.AbstractContextManager[object]:
    """A :func:`~mediamix.report.charts_in_parallel` block when run by the console script, else nothing.

    Commands that write a report (``fit``, ``demo``, ``report``) enter it first thing, so that the
    helper's imports overlap with theirs. Only the console script starts a second process, unless
    ``MEDIAMIX_CHART_PROCESS=0``; tests and code that call :data:`app` directly draw every chart in
    their own process.
    """
    if not _charts_in_parallel or os.environ.get(CHART_PROCESS_ENV, "").strip() == "0":
        return contextlib.nullcontext()
    from mediamix.report import charts_in_parallel

    return charts_in_parallel()


#: LLVM optimization level the console script gives numba, unless ``NUMBA_OPT`` is set (see
#: :func:`_compile_for_one_run`).
CLI_NUMBA_OPT = "1"


def _compile_for_one_run() -> None:
    """Have numba optimize the model's compiled code at LLVM level 1 instead of 3 (its default).

    The first fit of a model spends most of its time in numba compiling the logp and its gradient,
    and much of that in LLVM's optimizer. At level 1 the demo's cold ``mediamix fit`` took
    14.2-15.5 s instead of 16.0-17.3 s (alternating pairs, 2-CPU machine; on a slower hour compile
    12.4-13.0 s instead of 14.0-14.6 s) with the same sampling speed and bit-identical draws: the
    model's loops are small, element-wise and, without fastmath, not reassociated by level 3 either.
    numba reads the variable at import and builds its code generator, with the level it holds then,
    at the first compile, which has not happened yet when the command starts; hence the reload.
    Only the console script does this (library users choose their own ``NUMBA_OPT``), and a
    ``NUMBA_OPT`` the user set wins.
    """
    if "NUMBA_OPT" not in os.environ:
        os.environ["NUMBA_OPT"] = CLI_NUMBA_OPT
        from numba.core import config

        config.reload_config()


def _collect_cycles_never() -> None:
    """Run the command without Python's cyclic garbage collector, and end without its last collection.

    Every command is one short run (at most one fit), and a fit leaves millions of tracked objects
    (PyTensor graphs, numba and LLVM compiler state) that each automatic full collection walked
    again: in the summary, the report's charts, right after the output folder was written, and in
    the collection the interpreter runs at exit (0.8 s of a 5.6 s demo ``mediamix fit`` before it
    was skipped). With the collector off for the whole command, the demo's warm ``mediamix fit``
    took 4.01-4.04 s instead of 4.46-4.47 s (2-CPU machine, alternating runs) for a peak memory of
    523 MB instead of 515 MB: reference counting still frees almost everything, and what only the
    collector would free is left to the operating system at exit. ``freeze`` keeps the
    interpreter's final collection from walking the heap too (it runs even when the collector is
    off). Only the console script does this, never library code, where ``MMM.fit`` and
    ``MMM.save`` pause the collector only while they run (:func:`mediamix.output.collector_paused`).
    """
    gc.disable()
    atexit.register(gc.freeze)
