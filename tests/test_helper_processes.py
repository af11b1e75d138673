"""Helper processes: when one may be forked, and a job run in one."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from mediamix import helper_processes
from mediamix.helper_processes import ForkedJob

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="helpers fork on Linux only")


def test_a_job_that_returns_reports_and_its_effects_are_there(tmp_path: Path) -> None:
    job = ForkedJob(lambda report: (tmp_path / "done").write_text("yes"))
    assert job.wait(timeout=60) == b""
    assert (tmp_path / "done").read_text() == "yes"
    job.kill()
    assert job.wait(timeout=1) is None  # nothing left to wait for


def test_a_report_comes_back_whole_while_the_job_goes_on() -> None:
    result = bytes(range(256)) * 1000  # larger than a pipe's buffer

    def job(report) -> None:  # type: ignore[no-untyped-def]
        report(result)
        report(b"only the first report counts")
        time.sleep(60)  # optional work the parent does not wait for

    helper = ForkedJob(job)
    started = time.monotonic()
    assert helper.wait(timeout=60) == result
    assert time.monotonic() - started < 30
    pid = helper._pid
    helper.kill()
    with pytest.raises(ChildProcessError):  # killed and reaped
        os.waitpid(pid, 0)


def test_a_job_that_raises_or_exits_reports_nothing_and_says_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    def fail(report) -> None:  # type: ignore[no-untyped-def]
        print("from the child")  # noqa: T201
        raise ValueError("the child's own error")

    for job in (ForkedJob(fail), ForkedJob(lambda report: os._exit(0))):
        assert job.wait(timeout=60) is None  # (wait reaps a child that ended without a report)
    out, err = capfd.readouterr()
    assert "child" not in out + err  # the parent redoes the work and reports its own errors


def test_a_job_past_its_time_is_killed() -> None:
    job = ForkedJob(lambda report: time.sleep(60))
    pid = job._pid
    started = time.monotonic()
    assert job.wait(timeout=0.2) is None
    assert time.monotonic() - started < 30
    with pytest.raises(ChildProcessError):  # killed and reaped
        os.waitpid(pid, 0)


def test_a_job_learns_when_its_parent_is_done() -> None:
    """The compile helper compiles ops until the parent says it is done, then what the parent waits for."""

    def job(report) -> None:  # type: ignore[no-untyped-def]
        waited = 0
        while not helper_processes.parent_is_done() and waited < 6000:  # at most a minute
            time.sleep(0.01)
            waited += 1
        report(b"told" if helper_processes.parent_is_done() else b"not told")

    helper = ForkedJob(job)
    time.sleep(0.2)  # the child is well under way
    assert not helper_processes.parent_is_done()  # a parent is never told
    helper.tell_done()
    started = time.monotonic()
    assert helper.wait(timeout=60) == b"told"
    assert time.monotonic() - started < 30
    helper.kill()
    helper.tell_done()  # an ended job: nothing to tell, no error


def test_a_wait_ends_when_until_says_so() -> None:
    job = ForkedJob(lambda report: time.sleep(60))
    pid = job._pid
    flag = {"done": False}
    threading.Timer(0.2, lambda: flag.update(done=True)).start()
    started = time.monotonic()
    assert job.wait(timeout=60, until=lambda: flag["done"]) is None
    assert time.monotonic() - started < 30
    with pytest.raises(ChildProcessError):  # killed and reaped, as after a timeout
        os.waitpid(pid, 0)


def test_kill_ends_a_running_job_and_is_safe_twice() -> None:
    job = ForkedJob(lambda report: time.sleep(60))
    job.kill()
    job.kill()
    assert job.wait(timeout=1) is None


def test_a_helper_dies_with_its_parent(tmp_path: Path) -> None:
    """A helper's own helper (the compile helper's prober) does not outlive it, even when it is killed."""
    pid_file = tmp_path / "grandchild"

    def job(report) -> None:  # type: ignore[no-untyped-def]
        ForkedJob(lambda report: (pid_file.write_text(str(os.getpid())), time.sleep(60)))
        time.sleep(60)

    helper = ForkedJob(job)
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    grandchild = int(pid_file.read_text())
    helper.kill()
    while True:  # gone (it is not our child: poll)
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the grandchild outlived its parent"
        time.sleep(0.01)


def test_a_spinners_refresh_thread_does_not_stop_a_fork_but_another_thread_does() -> None:
    from rich.console import Console

    console = Console(file=open(os.devnull, "w"), force_terminal=True)  # noqa: SIM115 - closed below
    try:
        with console.status("Fitting…"):
            assert any(type(t).__module__ == "rich.live" for t in threading.enumerate())
            assert helper_processes.other_threads() == []
        release = threading.Event()
        other = threading.Thread(target=release.wait)
        other.start()
        try:
            assert helper_processes.other_threads() == [other]
            assert not helper_processes.may_fork()
        finally:
            release.set()
            other.join()
    finally:
        console.file.close()


def _running(tmp_path: Path, *counts: int) -> os.PathLike[str]:
    """A ``/proc/stat`` stand-in that says ``counts`` processes run, one read after another."""
    stat = tmp_path / "stat"
    reads = iter(counts)

    class Stat:
        def __fspath__(self) -> str:
            stat.write_text(f"cpu  1 2 3\nprocs_running {next(reads)}\nprocs_blocked 0\n")
            return str(stat)

    return Stat()


def test_a_job_says_whether_it_has_ended() -> None:
    go = os.pipe()
    job = ForkedJob(lambda report: os.read(go[0], 1))  # runs until told to end
    try:
        assert not job.ended()
        os.write(go[1], b"x")
        deadline = time.monotonic() + 60
        while not job.ended() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert job.ended()
        assert job.wait(timeout=1) == b""  # the report is still there to read
    finally:
        job.kill()
        for fd in go:
            os.close(fd)
    assert job.ended()


def test_a_helper_forked_here_goes_on_from_here_and_ends_at_its_bracket(tmp_path: Path) -> None:
    """The child runs what follows the fork in the same call stack, up to where its caller ends it."""
    after = tmp_path / "after"
    forked = helper_processes.fork_here()
    try:  # both processes run this
        if isinstance(forked, helper_processes.HelperSide):
            (tmp_path / "helper").write_text(str(os.getpid()))
            forked.report(b"went on")
    finally:
        if isinstance(forked, helper_processes.HelperSide):
            forked.end(True)  # the bracket: the helper never gets past here
    with after.open("a") as out:
        out.write(f"{os.getpid()}\n")
    assert isinstance(forked, ForkedJob)
    try:
        assert forked.wait(timeout=60) == b"went on"
        deadline = time.monotonic() + 60
        while not forked.ended() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert forked.ended()
    finally:
        forked.kill()
    assert int((tmp_path / "helper").read_text()) != os.getpid()
    assert after.read_text() == f"{os.getpid()}\n"


def test_own_running_helpers_do_not_count_as_competing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A helper busy with this process's work (e.g. the chart helper's warm-up) leaves a fork possible."""
    monkeypatch.setattr(helper_processes, "PROC_STAT", _running(tmp_path, *[2] * 12))  # this one and one more
    assert helper_processes.running_now() == 2
    def spin(report) -> None:  # type: ignore[no-untyped-def]
        while True:  # runs until killed
            pass

    monkeypatch.setattr(helper_processes, "_OWN_HELPERS", set())
    busy = ForkedJob(spin)
    try:
        assert busy._pid in helper_processes._OWN_HELPERS
        time.sleep(0.05)
        assert helper_processes.running_now() == 1  # the other one running is our own helper
    finally:
        pid = busy._pid
        busy.kill()
    assert pid not in helper_processes._OWN_HELPERS
    assert helper_processes.running_now() == 2


def test_no_fork_on_a_busy_or_single_cpu_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(helper_processes, "CGROUP_CPU_MAX", str(tmp_path / "no-quota"))  # whatever this machine's
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.0, 0.0))
    assert helper_processes.a_cpu_to_spare()
    monkeypatch.setattr(os, "getloadavg", lambda: (1.75, 0.0, 0.0))  # both CPUs busy most of the last minute,
    monkeypatch.setattr(helper_processes, "PROC_STAT", _running(tmp_path, 1, 2, 1))  # and now, once in 3 reads
    assert not helper_processes.a_cpu_to_spare()
    monkeypatch.setattr(helper_processes, "PROC_STAT", _running(tmp_path, 1, 1, 1))  # a busy minute just ended
    assert helper_processes.a_cpu_to_spare()
    monkeypatch.setattr(helper_processes, "PROC_STAT", str(tmp_path / "missing"))
    assert helper_processes.running_now() == float("inf")
    assert not helper_processes.a_cpu_to_spare()

    def unobtainable() -> tuple[float, float, float]:
        raise OSError("Load averages are unobtainable")

    monkeypatch.setattr(os, "getloadavg", unobtainable)
    assert not helper_processes.a_cpu_to_spare()
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert not helper_processes.a_cpu_to_spare()


def test_groundwork_is_laid_once_per_block_in_order_and_only_inside_it() -> None:
    from mediamix.helper_processes import groundwork, lay_groundwork

    done: list[str] = []
    lay_groundwork()  # outside any block: nothing registered, nothing done
    with groundwork(lambda: done.append("outer")):
        with groundwork(lambda: done.append("inner a"), lambda: done.append("inner b")):
            lay_groundwork()
            lay_groundwork()  # laid already
        assert done == ["outer", "inner a", "inner b"]
        lay_groundwork()  # the outer block's steps were laid with the inner block's
    assert done == ["outer", "inner a", "inner b"]
    with groundwork(lambda: done.append("again")):
        lay_groundwork()
    assert done[-1] == "again"


def test_a_failing_groundwork_step_is_left_for_later_and_the_others_still_run() -> None:
    from mediamix.helper_processes import groundwork, lay_groundwork

    done: list[str] = []

    def fails() -> None:
        raise ImportError("no such module")

    with groundwork(fails, lambda: done.append("next")):
        lay_groundwork()  # does not raise: the work it prepares raises its own error later
    assert done == ["next"]
