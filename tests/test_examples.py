"""Every example runs, at a small size."""

from __future__ import annotations

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
