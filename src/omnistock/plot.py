"""Figures for notebooks: KPI comparison of policies, and a map of nodes and flows.

Needs matplotlib (``pip install 'omnistock[plot]'``); imported only when called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from omnistock.exceptions import InvalidArgument

if TYPE_CHECKING:
    from omnistock.model.scenario import Scenario
    from omnistock.plan import Plan

__all__ = ["DEFAULT_KPIS", "kpi_comparison", "network_map"]

#: The KPIs :func:`kpi_comparison` draws by default, with their axis labels.
DEFAULT_KPIS: dict[str, str] = {
    "cost_per_order": "cost per order",
    "packages_per_order": "packages per order",
    "fill_rate": "fill rate",
    "vip_fill_rate": "VIP fill rate",
    "mean_km": "km per package",
}


def _figure(figsize: tuple[float, float]) -> Any:
    """A new matplotlib Figure that no global state knows of.

    Built from ``matplotlib.figure.Figure``, not ``pyplot``: the user's backend
    (a notebook's inline display, ``mpl.use("svg")``) and pyplot's list of open
    figures are left exactly as they were. A notebook shows the returned figure
    as a cell's value; ``fig.savefig(path)`` writes it anywhere.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        msg = "omnistock.plot needs matplotlib: pip install 'omnistock[plot]'."
        raise ImportError(msg) from err
    return Figure(figsize=figsize)


def kpi_comparison(
    table: pl.DataFrame, *, kpis: Sequence[str] | None = None, policy: str = "policy"
) -> Any:
    """One bar chart per KPI, one bar per policy.

    Parameters
    ----------
    table
        One row per policy: a ``policy`` column and KPI columns (e.g. the rows of
        ``Simulation.kpis`` or ``Plan.kpis()`` with the policy's name added).
    kpis
        Columns to draw; default :data:`DEFAULT_KPIS` where present.
    policy
        Name of the column holding the policy names.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = [k for k in (kpis or DEFAULT_KPIS) if k in table.columns]
    if not names:
        detail = f"none of the KPIs {list(kpis or DEFAULT_KPIS)} is a column. Got {table.columns}."
        raise InvalidArgument(
            function="plot.kpi_comparison", argument="kpis", detail=detail
        )
    fig = _figure((3.2 * len(names), 3.6))
    from matplotlib import colormaps

    axes = fig.subplots(1, len(names), squeeze=False)
    labels = table[policy].cast(pl.String).to_list()
    colours = colormaps["tab10"](np.arange(len(labels)) % 10)
    for ax, name in zip(axes[0], names, strict=True):
        ax.bar(range(len(labels)), table[name].to_numpy(), color=colours)
        ax.set_title(DEFAULT_KPIS.get(name, name), fontsize=10)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def network_map(
    scenario: Scenario,
    plan: Plan | None = None,
    *,
    max_flows: int = 2000,
    seed: int = 0,
) -> Any:
    """Nodes on a lon/lat map (warehouses, stores, lockers) and, given a plan, its flows.

    Each flow is a line from the node that ships to the order's destination; at
    most ``max_flows`` of them, drawn at random (``seed``) when there are more.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _figure((9, 5.5))
    ax = fig.subplots()
    if plan is not None and plan.allocations.height:
        compiled = scenario.compiled()
        net, orders = compiled.network, compiled.orders
        order_index = {str(o): i for i, o in enumerate(orders.order_ids)}
        pairs = plan.allocations.select("order_id", "node_id").unique()
        if pairs.height > max_flows:
            pairs = pairs.sample(max_flows, seed=seed)
        o_idx = np.array(
            [order_index[o] for o in pairs["order_id"].to_list()], dtype=np.int64
        )
        n_idx = np.array(
            [net.node_index[n] for n in pairs["node_id"].to_list()], dtype=np.int64
        )
        xyz = orders.order_xyz[o_idx]
        dest_lat = np.degrees(np.arcsin(np.clip(xyz[:, 2], -1, 1)))
        dest_lon = np.degrees(np.arctan2(xyz[:, 1], xyz[:, 0]))
        for nl, nlat, dl, dlat in zip(
            net.node_lon[n_idx], net.node_lat[n_idx], dest_lon, dest_lat, strict=True
        ):
            ax.plot([nl, dl], [nlat, dlat], color="tab:gray", alpha=0.15, linewidth=0.6)
        ax.scatter(
            dest_lon, dest_lat, s=3, color="tab:green", alpha=0.4, label="destinations"
        )
    kinds = np.array([n.kind for n in scenario.nodes])
    lon = np.array([n.lon for n in scenario.nodes])
    lat = np.array([n.lat for n in scenario.nodes])
    stores = kinds == "store"
    lockers = kinds == "locker"
    ax.scatter(lon[stores], lat[stores], s=8, color="tab:blue", label="stores")
    if lockers.any():
        ax.scatter(
            lon[lockers],
            lat[lockers],
            s=20,
            marker="^",
            color="tab:purple",
            label="lockers",
        )
    ax.scatter(
        lon[~stores & ~lockers],
        lat[~stores & ~lockers],
        s=60,
        marker="s",
        color="tab:red",
        label="warehouses",
    )
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("nodes and flows" if plan is not None else "nodes")
    fig.tight_layout()
    return fig
