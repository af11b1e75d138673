"""The helper process that draws some of the report's charts: same PNGs, and any failure costs only time."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import signal
import sys
import threading
import time
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mediamix import MMM, helper_processes
from mediamix import mmm as mmm_module
from mediamix.report import REPORT_FILE, ReportData, chart_process, charts, charts_in_parallel, start_charts

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
                                reason="the helper forks on Linux with two CPUs or more only")


@pytest.fixture(autouse=True)
def idle_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper starts only when the last minute's load leaves a CPU free; the test suite's own
    load says nothing about what these tests check."""
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))


@pytest.fixture(scope="module")
def report_data(prior_fit: MMM) -> ReportData:
    return prior_fit.report_data()


@pytest.fixture(scope="module")
def drawn_here(report_data: ReportData) -> dict[str, bytes]:
    """Every chart drawn in this process, without a helper."""
    assert chart_process.current() is None
    return charts.draw_charts(report_data)


def _wait_until_ready(helper: chart_process.ChartProcess | None) -> chart_process.ChartProcess:
    assert helper is not None, (f"no helper started: Python threads {threading.enumerate()}, "
                                f"JAX imported: {helper_processes.jax_loaded()}")
    deadline = time.monotonic() + 120
    while not helper.ready():
        assert time.monotonic() < deadline, "the helper never became ready"
        time.sleep(0.02)
    return helper


def _helper_has_answered() -> bool:
    """Whether the current helper has answered every chart it was asked for, or stopped answering."""
    helper = chart_process.current()
    answer = getattr(helper, "_answer", None)
    if answer is None:
        return True
    with answer._received_lock:  # noqa: SLF001
        received = set(answer._received)  # noqa: SLF001
    return set(chart_process.CHARTS_THERE) <= received or not answer._thread.is_alive()  # noqa: SLF001


@pytest.fixture
def slow_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's own charts wait until the helper has answered (at most 2 minutes), so that
    the helper answers first (this process draws the helper's charts itself when it is done first).
    A fixed delay was not enough on a slow, loaded machine."""
    name = next(name for name in charts.CHARTS if name not in chart_process.CHARTS_THERE)
    draw, here = charts.CHARTS[name], os.getpid()

    def slow(data: ReportData) -> bytes:
        if os.getpid() == here:
            deadline = time.monotonic() + 120
            while not _helper_has_answered() and time.monotonic() < deadline:
                time.sleep(0.02)
        return draw(data)

    monkeypatch.setitem(charts.CHARTS, name, slow)  # type: ignore[index]


@pytest.fixture
def ready_helper() -> Iterator[chart_process.ChartProcess]:
    with charts_in_parallel() as helper:
        yield _wait_until_ready(helper)


def _gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # reaped
    return False


def test_the_helper_draws_its_charts_and_they_are_the_ones_drawn_here(
        slow_here: None, ready_helper: chart_process.ChartProcess, report_data: ReportData,
        drawn_here: dict[str, bytes]) -> None:
    pending = start_charts(report_data)
    assert pending.in_parallel
    assert not ready_helper.ready()  # one request per helper
    drawn = pending.result()
    assert pending.drawn_there == chart_process.CHARTS_THERE
    assert list(drawn) == list(charts.CHARTS)
    assert drawn == drawn_here  # byte for byte, the helper's charts included


def test_the_helper_ends_with_its_block_also_unused_and_is_reaped() -> None:
    with charts_in_parallel() as helper:
        helper = _wait_until_ready(helper)
        assert chart_process.current() is helper
        pid = helper.pid
        assert pid in helper_processes._OWN_HELPERS  # its warm-up keeps no compile helper from forking
    assert chart_process.current() is None
    assert _gone(pid)
    assert pid not in helper_processes._OWN_HELPERS
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_ctrl_c_reaches_the_helper_but_does_not_end_it(slow_here: None, ready_helper: chart_process.ChartProcess,
                                                        report_data: ReportData,
                                                        drawn_here: dict[str, bytes]) -> None:
    os.kill(ready_helper.pid, signal.SIGINT)
    time.sleep(0.2)
    pending = start_charts(report_data)
    assert pending.in_parallel and pending.result() == drawn_here
    assert pending.drawn_there == chart_process.CHARTS_THERE


@pytest.mark.parametrize("when", ["before the request", "while it draws"])
def test_a_helper_that_dies_costs_only_time(ready_helper: chart_process.ChartProcess, report_data: ReportData,
                                            drawn_here: dict[str, bytes], when: str) -> None:
    if when == "before the request":
        os.kill(ready_helper.pid, signal.SIGKILL)
        time.sleep(0.2)
    pending = start_charts(report_data)
    if when == "while it draws":
        assert pending.in_parallel
        os.kill(ready_helper.pid, signal.SIGKILL)
    assert pending.result() == drawn_here


def test_without_a_ready_helper_every_chart_is_drawn_here(report_data: ReportData, drawn_here: dict[str, bytes],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_process.ChartProcess, "ready", lambda self: False)
    with charts_in_parallel() as helper:
        assert helper is not None
        pending = start_charts(report_data)
        assert not pending.in_parallel
        assert pending.result() == drawn_here


def test_no_helper_without_a_cpu_to_spare_beside_another_python_thread_or_with_jax(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(os, "sched_getaffinity", lambda pid: {0})
        with charts_in_parallel() as helper:
            assert helper is None
    cpus = len(os.sched_getaffinity(0))
    with monkeypatch.context() as m:
        m.setattr(os, "getloadavg", lambda: (cpus - 0.25, 0.0, 0.0))  # the other CPUs busy most of the minute
        m.setattr(helper_processes, "running_now", lambda: cpus)  # and now
        with charts_in_parallel() as helper:
            assert helper is None
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "jax", types.ModuleType("jax"))  # imported for real: its threads are running
        with charts_in_parallel() as helper:
            assert helper is None
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        with charts_in_parallel() as helper:
            assert helper is None and chart_process.current() is None
    finally:
        release.set()
        other.join()


def test_a_chart_that_fails_in_the_helper_costs_the_report_as_it_would_here(
        prior_fit: MMM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: ReportData) -> bytes:
        raise RuntimeError("no fonts")

    monkeypatch.setitem(charts.CHARTS, chart_process.CHARTS_THERE[0], broken)  # type: ignore[index]
    with charts_in_parallel() as helper:  # forked after the patch: the helper has the broken chart too
        _wait_until_ready(helper)
        with pytest.warns(RuntimeWarning, match=r"Could not write report.html \(RuntimeError: no fonts\)"):
            prior_fit.save(tmp_path / "out")
        assert not helper.ready()  # it took the request
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert REPORT_FILE not in written and {"summary.json", "posterior.nc", "contributions.csv"} <= written


def test_warnings_of_the_helpers_charts_are_issued_here(slow_here: None, report_data: ReportData,
                                                       drawn_here: dict[str, bytes],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    name = chart_process.CHARTS_THERE[-1]
    draw = charts.CHARTS[name]

    def warns(data: ReportData) -> bytes:
        warnings.warn(f"pid {os.getpid()}: tick labels overlap", UserWarning, stacklevel=1)
        return draw(data)

    monkeypatch.setitem(charts.CHARTS, name, warns)  # type: ignore[index]
    with charts_in_parallel() as helper:
        helper = _wait_until_ready(helper)
        pending = start_charts(report_data)
        assert pending.in_parallel
        with pytest.warns(UserWarning, match=f"pid {helper.pid}: tick labels overlap"):
            assert pending.result() == drawn_here
        assert name in pending.drawn_there


def _same_output(here: Path, both: Path) -> None:
    """The two output folders hold the same files, byte for byte but the report's date."""
    assert sorted(p.name for p in here.iterdir()) == sorted(p.name for p in both.iterdir())
    for file in here.iterdir():
        if file.suffix in (".csv", ".json", ".toml"):
            assert (both / file.name).read_bytes() == file.read_bytes(), file.name
    strip = [line for line in (here / REPORT_FILE).read_text().splitlines() if "Generated" not in line]
    assert [line for line in (both / REPORT_FILE).read_text().splitlines() if "Generated" not in line] == strip


def test_a_save_inside_the_block_writes_the_same_files_the_helper_made_the_report_inputs(
        prior_fit: MMM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prior_fit.save(tmp_path / "here")
    start = MMM._report_start
    makers = []

    def _report_start(self: MMM, prob: float) -> ReportData:  # its name: a bound method pickles by it
        makers.append(os.getpid())
        warnings.warn(f"made in {os.getpid()}", UserWarning, stacklevel=1)
        return start(self, prob)

    monkeypatch.setattr(MMM, "_report_start", _report_start)
    with charts_in_parallel() as helper:  # forked after the patch
        helper = _wait_until_ready(helper)
        with pytest.warns(UserWarning, match=f"made in {helper.pid}"):  # there, and its warning issued here
            prior_fit.save(tmp_path / "both")
        assert not helper.ready()  # it made the inputs and drew part of that report
    assert makers == []  # not here
    _same_output(tmp_path / "here", tmp_path / "both")


@pytest.mark.parametrize("how", ["raises there", "dies there", "too slow"])
def test_a_helper_that_fails_to_make_the_report_inputs_costs_only_time(
        prior_fit: MMM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """The chart tables and the report are then made here: the same files."""
    prior_fit.save(tmp_path / "here")
    tables, here = MMM._chart_tables, os.getpid()

    def chart_tables(self: MMM, prob: float) -> dict[str, Any]:
        if os.getpid() != here:
            if how == "raises there":
                raise MemoryError("no memory there")
            if how == "dies there":
                os._exit(3)
            time.sleep(60)
        return tables(self, prob)

    monkeypatch.setattr(MMM, "_chart_tables", chart_tables)
    if how == "too slow":
        made_there = charts.PendingCharts.made_there
        monkeypatch.setattr(charts.PendingCharts, "made_there", lambda self, timeout: made_there(self, timeout=1.0))
    with charts_in_parallel() as helper:
        helper = _wait_until_ready(helper)
        started = time.monotonic()
        prior_fit.save(tmp_path / "both")
        assert time.monotonic() - started < 30
        assert _gone(helper.pid)  # stopped and reaped: nothing of it left to wait for
    _same_output(tmp_path / "here", tmp_path / "both")


def test_inputs_made_there_and_the_charts_are_the_ones_made_here(
        ready_helper: chart_process.ChartProcess, report_data: ReportData, drawn_here: dict[str, bytes],
        prior_fit: MMM) -> None:
    pending = start_charts(functools.partial(MMM._report_start, prior_fit, report_data.hdi_prob))
    assert pending.in_parallel
    made = pending.made_there()
    assert made is not None
    for field in ("waterfall", "response_curves", "adstock_curves", "fit", "decomposition"):
        pd.testing.assert_frame_equal(getattr(made, field), getattr(report_data, field))
    assert made.summary == {"hdi_prob": report_data.hdi_prob}
    assert pending.result(dataclasses.replace(made, summary=report_data.summary)) == drawn_here


def test_without_a_helper_nothing_is_made_and_the_inputs_are_asked_for(prior_fit: MMM) -> None:
    assert chart_process.current() is None
    pending = start_charts(functools.partial(MMM._report_start, prior_fit, 0.94))
    assert not pending.in_parallel
    assert pending.made_there() is None
    with pytest.raises(ValueError, match="inputs were not made"):
        pending.result()


def test_the_helpers_charts_need_no_summary_but_the_interval_mass(report_data: ReportData,
                                                                 drawn_here: dict[str, bytes]) -> None:
    """``MMM.save`` starts them before the summary (and its review) is computed."""
    early = dataclasses.replace(report_data, summary={"hdi_prob": report_data.hdi_prob})
    assert {name: charts.CHARTS[name](early) for name in chart_process.CHARTS_THERE} == {
        name: drawn_here[name] for name in chart_process.CHARTS_THERE}


def test_a_process_forked_later_does_not_hold_up_the_answer(ready_helper: chart_process.ChartProcess,
                                                            report_data: ReportData,
                                                            drawn_here: dict[str, bytes]) -> None:
    """PyMC's samplers fork after the helper started, and their copies of the pipes stay open while
    they run: a message must end by its length, not by the pipe's end."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "multi-threaded, use of fork()": it only sleeps
        sleeper = os.fork()
    if sleeper == 0:  # pragma: no cover - the sleeping copy
        time.sleep(60)
        os._exit(0)
    try:
        started = time.monotonic()
        pending = start_charts(report_data)
        assert pending.in_parallel and pending.result() == drawn_here
        assert time.monotonic() - started < 30
    finally:
        os.kill(sleeper, signal.SIGKILL)
        os.waitpid(sleeper, 0)


def test_a_slow_helper_costs_no_waiting_its_charts_are_drawn_here_from_the_end(
        report_data: ReportData, drawn_here: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """A busy machine gives the helper less than a CPU: this process then draws the helper's charts
    itself instead of waiting (here the helper takes 60 s over its first chart)."""
    first = chart_process.CHARTS_THERE[0]
    draw, here = charts.CHARTS[first], os.getpid()

    def slow_there(data: ReportData) -> bytes:
        if os.getpid() != here:
            time.sleep(60)
        return draw(data)

    monkeypatch.setitem(charts.CHARTS, first, slow_there)  # type: ignore[index]
    with charts_in_parallel() as helper:
        _wait_until_ready(helper)
        started = time.monotonic()
        pending = start_charts(report_data)
        assert pending.in_parallel
        assert pending.result() == drawn_here
        assert pending.drawn_there == ()
        assert time.monotonic() - started < 30


def test_an_error_before_the_fork_costs_only_the_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: an OSError from the load average or from a pipe escaped and ended the command."""
    def unobtainable() -> tuple[float, float, float]:
        raise OSError("Load averages are unobtainable")

    with monkeypatch.context() as m:
        m.setattr(os, "getloadavg", unobtainable)
        with charts_in_parallel() as helper:
            assert helper is None
    opened = len(os.listdir("/proc/self/fd"))
    calls = []
    pipe = os.pipe

    def second_pipe_fails() -> tuple[int, int]:
        calls.append(1)
        if len(calls) == 2:
            raise OSError(24, "Too many open files")
        return pipe()

    with monkeypatch.context() as m:
        m.setattr(os, "pipe", second_pipe_fails)
        with charts_in_parallel() as helper:
            assert helper is None
    assert len(os.listdir("/proc/self/fd")) == opened  # the first pipe closed again


def test_a_cgroup_cpu_quota_caps_the_cpus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    quota = tmp_path / "cpu.max"
    monkeypatch.setattr(helper_processes, "CGROUP_CPU_MAX", str(quota))
    quota.write_text("100000 100000\n")  # one CPU's worth, whatever the affinity says
    with charts_in_parallel() as helper:
        assert helper is None
    quota.write_text("max 100000\n")
    assert helper_processes.usable_cpus() == len(os.sched_getaffinity(0))


def test_descriptors_above_1024_do_not_cost_the_report(report_data: ReportData, drawn_here: dict[str, bytes],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: ``select.select`` fails for descriptors >= 1024 (a library user's process
    with many files open); ``poll`` does not."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("cannot open 1200 files here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100 - len(os.listdir("/proc/self/fd")))]
    try:
        with charts_in_parallel() as helper:
            helper = _wait_until_ready(helper)
            assert helper._answers >= 1024
            pending = start_charts(report_data)
            assert pending.in_parallel and pending.result() == drawn_here
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class NeedsCode(UserWarning):
    """A warning category whose ``__init__`` takes more than the message (does not unpickle)."""

    def __init__(self, text: str, code: int) -> None:
        super().__init__(text)
        self.code = code


@pytest.mark.parametrize("kind", ["filtered by module", "not picklable"])
def test_warnings_from_the_helper_are_filtered_and_rebuilt_as_here(
        slow_here: None, report_data: ReportData, drawn_here: dict[str, bytes], monkeypatch: pytest.MonkeyPatch,
        kind: str) -> None:
    """Found in review: re-issued warnings came from ``charts.py`` (a filter on the module that warned
    no longer matched), and a category that needs other arguments cost the whole report."""
    name = chart_process.CHARTS_THERE[0]
    draw = charts.CHARTS[name]

    def warns(data: ReportData) -> bytes:
        if kind == "filtered by module":
            warnings.warn("from this test module", UserWarning, stacklevel=1)
        else:
            warnings.warn(NeedsCode("needs a code", 7), stacklevel=1)
        return draw(data)

    monkeypatch.setitem(charts.CHARTS, name, warns)  # type: ignore[index]
    with charts_in_parallel() as helper:
        _wait_until_ready(helper)
        pending = start_charts(report_data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if kind == "filtered by module":
                warnings.filterwarnings("ignore", category=UserWarning, module=__name__)
            assert pending.result() == drawn_here
        assert name in pending.drawn_there
    if kind == "filtered by module":
        assert caught == []  # ignored, as it is when drawn here
    else:
        assert [str(w.message) for w in caught] == ["NeedsCode: needs a code"]
        assert caught[0].filename == __file__


@pytest.mark.parametrize("there_s", [1.0, 60.0])
def test_the_last_chart_the_helper_has_begun_is_waited_for_a_while(
        report_data: ReportData, drawn_here: dict[str, bytes], monkeypatch: pytest.MonkeyPatch,
        there_s: float) -> None:
    """Done with its own charts, this process waits for the last chart if the helper is on it (up to
    ``WAIT_FOR_BEGUN_S``) rather than drawing it too; a helper stuck on it costs only that wait."""
    last = chart_process.CHARTS_THERE[-1]
    draw_last, here = charts.CHARTS[last], os.getpid()

    def slow_there(data: ReportData) -> bytes:
        if os.getpid() != here:
            time.sleep(there_s)
        return draw_last(data)

    mine = next(name for name in charts.CHARTS if name not in chart_process.CHARTS_THERE)
    draw_mine = charts.CHARTS[mine]

    def after_the_helper_began_the_last(data: ReportData) -> bytes:
        answer = chart_process.current()._answer  # type: ignore[union-attr]  # noqa: SLF001
        deadline = time.monotonic() + 120
        while answer.drawing() != last and time.monotonic() < deadline:
            time.sleep(0.02)
        return draw_mine(data)

    monkeypatch.setitem(charts.CHARTS, last, slow_there)  # type: ignore[index]
    monkeypatch.setitem(charts.CHARTS, mine, after_the_helper_began_the_last)  # type: ignore[index]
    # Waits with room to spare either way on a slow machine (found in review: 1 s against 2 s was tight).
    monkeypatch.setattr(charts, "WAIT_FOR_BEGUN_S", 60.0 if there_s < 10 else 1.0)
    with charts_in_parallel() as helper:
        _wait_until_ready(helper)
        pending = start_charts(report_data)
        began = time.monotonic()
        drawn = pending.result()
        took = time.monotonic() - began
    assert drawn == drawn_here
    if there_s < charts.WAIT_FOR_BEGUN_S:
        assert pending.drawn_there == chart_process.CHARTS_THERE  # the last one taken from the helper
    else:
        assert last not in pending.drawn_there  # drawn here after the wait
        assert took < 30


class ReportInputWarning(UserWarning):
    """Raised while the report's inputs are made (tests)."""


def _warn_while_making() -> None:
    warnings.warn("the inputs warn", ReportInputWarning, stacklevel=1)


def test_a_warning_filter_that_raises_costs_the_same_with_the_helper(
        prior_fit: MMM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: a warning raised while the helper made the report's inputs, turned into an
    error by a filter here, failed the whole save; without a helper the report alone fails (the
    rest is written). Now the inputs are made here again, and the same happens."""
    start = MMM._report_start
    fit_table = mmm_module.fit_table

    def _report_start(self: MMM, prob: float) -> ReportData:  # its name: a bound method pickles by it
        return start(self, prob)

    def warning_fit_table(*args: Any, **kwargs: Any) -> Any:
        _warn_while_making()
        return fit_table(*args, **kwargs)

    monkeypatch.setattr(MMM, "_report_start", _report_start)
    monkeypatch.setattr(mmm_module, "fit_table", warning_fit_table)
    outcomes = {}
    for where in ("here", "both"):
        with contextlib.ExitStack() as stack:
            if where == "both":
                _wait_until_ready(stack.enter_context(charts_in_parallel()))
            caught = stack.enter_context(warnings.catch_warnings(record=True))
            warnings.simplefilter("always")
            warnings.simplefilter("error", ReportInputWarning)  # pytest.warns would record it instead
            prior_fit.save(tmp_path / where)
        assert any(w.category is RuntimeWarning and "Could not write report.html (ReportInputWarning"
                   in str(w.message) for w in caught), [str(w.message) for w in caught]
        outcomes[where] = sorted(p.name for p in (tmp_path / where).iterdir())
    assert REPORT_FILE not in outcomes["here"]
    assert outcomes["both"] == outcomes["here"]


def test_a_warning_raised_here_already_is_not_shown_again_from_the_helper() -> None:
    """Found in review: the helper recomputes some of what this process computed (the
    decomposition); a warning both raise at the same place is shown once under Python's default
    filter (once per place), as in one process: re-issued into its module's registry."""
    with warnings.catch_warnings(record=True) as there:  # as the helper records it
        warnings.simplefilter("always")
        _warn_while_making()
    recorded = [(w.message, w.category, w.filename, w.lineno, chart_process._module_of(w.filename))  # noqa: SLF001
                for w in there]
    assert recorded[0][4] == __name__
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        _warn_while_making()  # here first
        chart_process._reissue(recorded)  # noqa: SLF001 - then from the helper: the same place
    assert [str(w.message) for w in caught] == ["the inputs warn"]


def test_an_answer_to_plain_inputs_has_nothing_made(ready_helper: chart_process.ChartProcess,
                                                    report_data: ReportData) -> None:
    answer = ready_helper.draw(report_data, ())
    started = time.monotonic()
    assert answer.made(timeout=60) is None
    assert time.monotonic() - started < 5  # no wait: nothing was asked to be made
