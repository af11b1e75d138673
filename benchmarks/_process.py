"""Run one benchmark worker in a fresh process, timed, killed with its children on timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Finished:
    """A worker that ended: its exit code, output and wall time."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def tail(self, lines: int = 5) -> str:
        """The last lines of stderr (or stdout), for an error message."""
        return "\n".join((self.stderr or self.stdout).strip().splitlines()[-lines:])


def run_timed(cmd: list[str], env: dict[str, str], timeout: float, cwd: str | os.PathLike[str] | None = None
              ) -> Finished | None:
    """Run ``cmd``; ``None`` if it outran ``timeout`` (its whole session is killed, PyMC's chains too)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True, cwd=cwd)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None
    return Finished(proc.returncode, stdout, stderr, time.perf_counter() - t0)
