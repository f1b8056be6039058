"""Every example runs, at a small size."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_quickstart_runs_and_greedy_beats_priority() -> None:
    module = runpy.run_path(str(EXAMPLES / "quickstart.py"))
    table = module["main"](60)
    costs = dict(zip(table["solver"], table["cost_per_order"], strict=True))
    assert set(costs) >= {"priority"}
    if "greedy" in costs:
        assert costs["greedy"] <= costs["priority"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "script",
    sorted(p.name for p in EXAMPLES.glob("*.py") if p.name != "quickstart.py"),
)
def test_example_script_runs(script: str, tmp_path: Path) -> None:
    env_args = [sys.executable, str(EXAMPLES / script), "--small"]
    result = subprocess.run(
        env_args, capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_simulate_policies_notebook_runs_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planner's notebook runs top to bottom and shows both figures (issue 13, 9)."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    # The kernel is this Python (with omnistock), at a size a test can afford.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    monkeypatch.setenv("OMNISTOCK_NB_DAYS", "2")
    monkeypatch.setenv("OMNISTOCK_NB_ORDERS_PER_DAY", "60")
    notebook = nbformat.read(EXAMPLES / "simulate_policies.ipynb", as_version=4)
    nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [
        o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
    ]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2


def test_compare_policies_runs_rewrite_only_their_own_section(tmp_path: Path) -> None:
    """The flat and the carrier run of compare_policies share docs/policies.md.

    Each run rewrites its own section and keeps the other's figures byte for byte,
    whichever runs first.
    """
    module = runpy.run_path(str(EXAMPLES / "compare_policies.py"))
    write, heading = module["write_section"], module["CARRIER_HEADING"]
    page = tmp_path / "policies.md"
    write(page, "cmd flat", "flat table 1\n", "flat")
    write(page, "cmd carrier", "carrier table 1\n", "carrier")
    first = page.read_text()
    assert first.startswith("# Policies compared\n")
    assert first.index("flat table 1") < first.index(heading)
    assert first.index(heading) < first.index("carrier table 1")
    write(page, "cmd flat", "flat table 2\n", "flat")
    second = page.read_text()
    assert "flat table 1" not in second
    assert second.endswith(first[first.index(heading) :])
    write(page, "cmd carrier", "carrier table 2\n", "carrier")
    third = page.read_text()
    assert "carrier table 1" not in third
    assert third.startswith(second[: second.index(heading)])
    assert third.count(heading) == 1 and third.count("# Policies compared") == 1
    assert third.endswith("carrier table 2\n")
