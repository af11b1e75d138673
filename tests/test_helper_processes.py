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


def test_a_job_that_returns_is_done_and_its_effects_are_there(tmp_path: Path) -> None:
    job = ForkedJob(lambda: (tmp_path / "done").write_text("yes"))
    assert job.wait(timeout=60)
    assert (tmp_path / "done").read_text() == "yes"
    assert not job.wait(timeout=1)  # reaped: nothing left to wait for


def test_a_job_that_raises_or_exits_is_not_done_and_says_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    def fail() -> None:
        print("from the child")  # noqa: T201
        raise ValueError("the child's own error")

    assert not ForkedJob(fail).wait(timeout=60)
    assert not ForkedJob(lambda: os._exit(3)).wait(timeout=60)
    out, err = capfd.readouterr()
    assert "child" not in out + err  # the parent redoes the work and reports its own errors


def test_a_job_past_its_time_is_killed() -> None:
    job = ForkedJob(lambda: time.sleep(60))
    pid = job._pid
    started = time.monotonic()
    assert not job.wait(timeout=0.2)
    assert time.monotonic() - started < 30
    with pytest.raises(ChildProcessError):  # killed and reaped
        os.waitpid(pid, 0)


def test_kill_ends_a_running_job_and_is_safe_twice() -> None:
    job = ForkedJob(lambda: time.sleep(60))
    job.kill()
    job.kill()
    assert not job.wait(timeout=1)


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


def test_no_fork_on_a_busy_or_single_cpu_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.0, 0.0))
    assert helper_processes.a_cpu_to_spare()
    monkeypatch.setattr(os, "getloadavg", lambda: (1.75, 0.0, 0.0))  # both CPUs busy most of the last minute
    assert not helper_processes.a_cpu_to_spare()

    def unobtainable() -> tuple[float, float, float]:
        raise OSError("Load averages are unobtainable")

    monkeypatch.setattr(os, "getloadavg", unobtainable)
    assert not helper_processes.a_cpu_to_spare()
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert not helper_processes.a_cpu_to_spare()
