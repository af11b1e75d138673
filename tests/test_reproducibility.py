"""Same data, config and seed give the same draws and summary.json, whether compile caches are cold or warm.

Two ``mediamix fit`` runs of the demo data with nutpie (the default) or PyMC's NUTS, each a fresh
process, share one fresh PyTensor compiledir (``base_compiledir``, which also holds PyTensor's
numba cache and nutpie's cached C callbacks, see ``mediamix.inference.samplers``) and one fresh
``NUMBA_CACHE_DIR``: the first run compiles everything into the empty caches, the second loads
from them. Both must write the same numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from mediamix.config import dump_config, parse_config
from mediamix.output import POSTERIOR_FILE, SUMMARY_FILE
from mediamix.simulate import SimulatedDataset

pytestmark = pytest.mark.slow  # the cold run compiles from empty caches: ~20-30 s on 2 CPUs


def _fit(data: Path, config: Path, out: Path, cache: Path, sampler: str) -> None:
    env = dict(os.environ)
    env["PYTENSOR_FLAGS"] = f"base_compiledir={cache / 'pytensor'}"
    env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    cmd = [sys.executable, "-m", "mediamix", "fit", str(data), "--config", str(config), "--out", str(out),
           "--chains", "2", "--draws", "200", "--tune", "200", "--seed", "7", "--no-progress", "--sampler", sampler]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("sampler", ["nutpie", "pymc"])  # pymc: found in review to differ with fastmath on
def test_cold_and_warm_compile_caches_give_the_same_fit(demo: SimulatedDataset, tmp_path: Path, sampler: str) -> None:
    data, config = tmp_path / "data.csv", tmp_path / "config.toml"
    demo.data.to_csv(data, index=False)
    config.write_text(dump_config(parse_config(demo.config)))
    cache = tmp_path / "cache"  # empty: the first fit is a cold start
    _fit(data, config, tmp_path / "cold", cache, sampler)
    _fit(data, config, tmp_path / "warm", cache, sampler)

    cold, warm = (json.loads((tmp_path / run / SUMMARY_FILE).read_text()) for run in ("cold", "warm"))
    assert cold["diagnostics"]["sampler"] == sampler
    assert cold["channels"] == warm["channels"]  # exact: every spend, contribution, share and ROAS figure
    assert cold["diagnostics"] == warm["diagnostics"]

    with xr.open_datatree(tmp_path / "cold" / POSTERIOR_FILE) as a, \
            xr.open_datatree(tmp_path / "warm" / POSTERIOR_FILE) as b:
        post_a, post_b = a["posterior"].to_dataset(), b["posterior"].to_dataset()
        assert sorted(post_a.data_vars) == sorted(post_b.data_vars)
        for name in post_a.data_vars:
            np.testing.assert_array_equal(post_a[name].values, post_b[name].values, err_msg=name)
        np.testing.assert_array_equal(a["sample_stats"]["diverging"].values, b["sample_stats"]["diverging"].values)


def test_new_data_fit_with_another_data_sets_caches_is_the_cold_fit(demo: SimulatedDataset, tmp_path: Path) -> None:
    """A refit on new data compiles the logp function anew but takes the ops that do not hold the
    data from the caches (numba's cache keeps them as bitcode and the compile links them in, see
    mediamix.inference.machine_code): it must give the draws a fit from empty caches gives."""
    config = tmp_path / "config.toml"
    config.write_text(dump_config(parse_config(demo.config)))
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    demo.data.to_csv(old, index=False)
    target = parse_config(demo.config).data.target
    changed = demo.data.copy()
    changed[target] = changed[target] * 1.05 + np.random.default_rng(3).normal(0.0, 1.0, len(changed))
    changed.to_csv(new, index=False)

    shared = tmp_path / "shared"  # filled by the old data's fit
    _fit(old, config, tmp_path / "old", shared, "nutpie")
    _fit(new, config, tmp_path / "reused", shared, "nutpie")
    _fit(new, config, tmp_path / "fresh", tmp_path / "empty", "nutpie")

    with xr.open_datatree(tmp_path / "reused" / POSTERIOR_FILE) as a, \
            xr.open_datatree(tmp_path / "fresh" / POSTERIOR_FILE) as b:
        post_a, post_b = a["posterior"].to_dataset(), b["posterior"].to_dataset()
        for name in post_a.data_vars:
            np.testing.assert_array_equal(post_a[name].values, post_b[name].values, err_msg=name)
    old_summary = json.loads((tmp_path / "old" / SUMMARY_FILE).read_text())
    new_summary = json.loads((tmp_path / "reused" / SUMMARY_FILE).read_text())
    assert old_summary["channels"] != new_summary["channels"]  # the new data were read
