"""What every benchmark shares: a timed worker process (killed with its children on timeout) and the machine line."""

from __future__ import annotations

import importlib.metadata as metadata
import os
import platform
import signal
import subprocess
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Finished:
    """A worker that ended: its exit code, output, wall time and when it started (``time.time()``)."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    started: float = 0.0

    def tail(self, lines: int = 5) -> str:
        """The last lines of stderr (or stdout), for an error message."""
        return "\n".join((self.stderr or self.stdout).strip().splitlines()[-lines:])


def run_timed(cmd: list[str], env: dict[str, str], timeout: float, cwd: str | os.PathLike[str] | None = None
              ) -> Finished | None:
    """Run ``cmd``; ``None`` if it outran ``timeout`` (its whole session is killed, PyMC's chains too)."""
    started, t0 = time.time(), time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True, cwd=cwd)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None
    return Finished(proc.returncode, stdout, stderr, time.perf_counter() - t0, started)


def package_version(name: str) -> str:
    """The installed version of ``name``, or ``"not installed"``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(packages: tuple[str, ...], **extra: object) -> dict:
    """CPU count, platform, Python, the ``packages``' versions, ``extra`` and the load average now."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            **{name: package_version(name) for name in packages}, **extra,
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}


def demo_model() -> object:
    """The demo's ``pymc.Model`` as ``mediamix fit`` builds it (``seed_example`` data, the demo config)."""
    from mediamix.config import parse_config
    from mediamix.data.validate import validate_data
    from mediamix.model.build import build_model
    from mediamix.model.design import Scales, make_design
    from mediamix.simulate import seed_example

    ds = seed_example()
    cfg = parse_config(ds.config)
    d = cfg.data
    frame = validate_data(ds.data, date=d.date, target=d.target, channels=d.channels,
                          controls=d.controls, l_max=cfg.model.l_max)
    return build_model(cfg, make_design(frame, cfg, Scales.from_frame(frame, cfg)))
