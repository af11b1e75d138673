"""``mediamix simulate seed``: write the demo data set, its truth and a matching config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mediamix.cli.app import console

__all__ = ["seed_command", "dataset_command", "DEFAULT_DEMO_SEED"]

#: Seed of the built-in demo data (see mediamix.simulate.seed_example).
DEFAULT_DEMO_SEED = 1  # the default of seed_example; see the CHANGELOG for why not 42


def seed_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write data.csv, truth.json and mmm.toml to.")],
    seed: Annotated[int, typer.Option(min=0, help="Seed of the simulation.")] = DEFAULT_DEMO_SEED,
) -> None:
    """Simulate the seed example (2 channels, 179 weeks) with known truth."""
    import tomli_w

    from mediamix.output import atomic_folder
    from mediamix.simulate import seed_example

    dataset = seed_example(seed=seed)
    with atomic_folder(out) as tmp:
        dataset.data.to_csv(tmp / "data.csv", index=False, date_format="%Y-%m-%d")
        (tmp / "truth.json").write_text(json.dumps(dataset.truth, indent=2) + "\n", encoding="utf-8")
        (tmp / "mmm.toml").write_text(tomli_w.dumps(dataset.config), encoding="utf-8")
    console.print(f"Wrote [bold]{escape(str(out))}/[/] (data.csv, truth.json, mmm.toml): {len(dataset.data)} weeks, "
                  f"seed {seed}", highlight=False)
    console.print(f"Fit it with: mediamix fit {out}/data.csv --config {out}/mmm.toml --out {out}/fit", markup=False,
                  highlight=False)


def dataset_command(
    spec: Annotated[Path, typer.Option("--spec", help="TOML spec: options and one \\[channels.NAME] table per channel.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write data.csv, truth.json and mmm.toml to.")],
    seed: Annotated[int | None, typer.Option(min=0, help="Seed (overrides the spec's).")] = None,
) -> None:
    """Simulate a data set from a spec: transforms, parameters, noise and seed per channel."""
    import tomli_w

    from mediamix.config.io import read_toml
    from mediamix.data.cadence import Cadence
    from mediamix.output import atomic_folder
    from mediamix.simulate import simulate_from_spec

    raw = read_toml(spec, "Spec file", "a TOML file")
    dataset = simulate_from_spec(raw, seed=seed)
    with atomic_folder(out) as tmp:
        dataset.data.to_csv(tmp / "data.csv", index=False, date_format="%Y-%m-%d")
        (tmp / "truth.json").write_text(json.dumps(dataset.truth, indent=2) + "\n", encoding="utf-8")
        (tmp / "mmm.toml").write_text(tomli_w.dumps(dataset.config), encoding="utf-8")
    console.print(
        f"Wrote {out}/ (data.csv, truth.json, mmm.toml): {len(dataset.data)} rows "
        f"({Cadence.of(dataset.data['date']).adjective}), channels {', '.join(dataset.truth['channels'])}",
        markup=False, highlight=False,
    )
