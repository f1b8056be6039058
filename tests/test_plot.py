"""Figures: the KPI comparison and the network map draw what they are given."""

from __future__ import annotations

import builtins
from typing import Any

import polars as pl
import pytest

from omnistock import InvalidArgument, plot, solve
from tests.helpers import make_scenario


def test_kpi_comparison_draws_one_axis_per_kpi_and_one_bar_per_policy() -> None:
    table = pl.DataFrame(
        {
            "policy": ["a", "b", "c"],
            "cost_per_order": [3.0, 2.0, 1.0],
            "fill_rate": [0.9, 0.95, 1.0],
        }
    )
    fig = plot.kpi_comparison(table)
    assert len(fig.axes) == 2
    assert [len(ax.patches) for ax in fig.axes] == [3, 3]
    assert [p.get_height() for p in fig.axes[0].patches] == [3.0, 2.0, 1.0]


def test_kpi_comparison_names_missing_columns() -> None:
    with pytest.raises(InvalidArgument, match="none of the KPIs") as info:
        plot.kpi_comparison(pl.DataFrame({"policy": ["a"], "x": [1]}))
    assert (info.value.function, info.value.argument) == ("plot.kpi_comparison", "kpis")


def test_network_map_draws_nodes_and_flows() -> None:
    scenario = make_scenario()
    plan = solve(scenario, solver="null")
    fig = plot.network_map(scenario, plan)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["stores", "warehouses"]  # the null plan ships nothing: no flows


def test_missing_matplotlib_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install 'omnistock\[plot\]'"):
        plot.kpi_comparison(pl.DataFrame({"policy": ["a"], "fill_rate": [1.0]}))


def test_plots_leave_the_users_matplotlib_state_alone() -> None:
    """A notebook's backend and pyplot's open figures are not touched (issue 13, 3)."""
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    before = mpl.get_backend()
    mpl.use("svg")
    try:
        open_before = plt.get_fignums()
        scenario = make_scenario()
        plot.network_map(scenario, solve(scenario, solver="greedy"))
        plot.kpi_comparison(pl.DataFrame({"policy": ["a"], "fill_rate": [1.0]}))
        assert mpl.get_backend() == "svg"
        assert plt.get_fignums() == open_before
    finally:
        mpl.use(before)
