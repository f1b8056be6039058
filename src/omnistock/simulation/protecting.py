"""Protection tables for a simulation: fixed, or EMSR-b from the forecast (issue 16).

``simulate(..., protection=...)`` reads the network's protection three ways:

``None``
    As the network says (its rules and its ``protection`` table, if any).
``"fixed"``
    v1's fixed rule only: ``rules.last_unit_protection`` per node kind, the
    network's table dropped.
``"emsr_b"``
    A table computed by :func:`omnistock.protection.levels` from the forecast
    the simulation already takes (``forecast``; default: the stream itself,
    i.e. a perfect forecast of the mix). The forecast orders are served by
    greedy on the initial stock without protection, so a tier's demand lands on
    the node-SKUs that would serve it as stock runs down (:func:`forecast_demand`);
    over ``protection_every`` hours (default: the whole run) it is Poisson with
    that mean; a unit is worth its tier weight x the unfilled cost. Every stock
    row gets a level for every tier of the forecast (0 where no demand lands). At every ``protection_every`` boundary the nested heads restart from
    the stock at hand (:meth:`SimStock.restart_protection`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from omnistock.exceptions import OmnistockError
from omnistock.model.orders import Order
from omnistock.model.scenario import Scenario
from omnistock.simulation.kpis import HOURS_PER_DAY

__all__ = ["PROTECTION_MODES", "forecast_demand", "protected_network"]

PROTECTION_MODES = (None, "fixed", "emsr_b")


def forecast_demand(
    network: Scenario, orders: Sequence[Order], scale: float
) -> pl.DataFrame:
    """``node, sku, tier, mean, std``: the forecast's units per node-SKU and tier.

    The forecast is served by greedy, in its order, on the initial stock with no
    protection at all: a tier's demand at a node-SKU is what would be taken there
    as the stock runs down (unfilled units count nowhere). Every stock row gets
    every tier of the forecast, with mean 0 where none lands. ``scale`` turns the
    forecast's units into the horizon's; std is Poisson's, sqrt(mean).
    """
    from omnistock.solving import solve

    rules = network.rules.model_copy(update={"last_unit_protection": {}})
    plain = network.model_copy(update={"protection": (), "rules": rules})
    plan = solve(plain.with_orders(orders), solver="greedy")
    tiers = pl.DataFrame(
        {"order_id": [o.id for o in orders], "tier": [o.tier for o in orders]},
        schema={"order_id": pl.String, "tier": pl.String},
    )
    taken = (
        plan.allocations.join(tiers, on="order_id")
        .group_by("node_id", "sku", "tier")
        .agg(pl.col("qty").sum().cast(pl.Float64).alias("units"))
        .rename({"node_id": "node"})
    )
    grid = (
        pl.DataFrame(
            {
                "node": [r.node for r in network.stock],
                "sku": [r.sku for r in network.stock],
            },
            schema={"node": pl.String, "sku": pl.String},
        )
        .join(tiers.select("tier").unique(), how="cross")
        .join(taken, on=["node", "sku", "tier"], how="left")
    )
    mean = pl.col("units").fill_null(0.0) * scale
    return grid.select(
        "node", "sku", "tier", mean.alias("mean"), mean.sqrt().alias("std")
    )


def protected_network(
    network: Scenario,
    mode: str | None,
    every: float | None,
    forecast: Sequence[Order] | tuple[Sequence[Order], Sequence[float]] | None,
    stream: Sequence[Order],
    hours: np.ndarray,
) -> Scenario:
    """The network with the protection ``mode`` asks for (see the module doc).

    ``forecast`` as ``simulate`` takes it (orders, or orders and their hours);
    None: the ``stream`` itself, arriving at ``hours``. Its span, in whole days,
    is the time its units are spread over.
    """
    if mode not in PROTECTION_MODES:
        msg = f"simulate: protection must be one of None, 'fixed', 'emsr_b'. Got {mode!r}."
        raise OmnistockError(msg)
    if every is not None and not (math.isfinite(every) and every > 0):
        msg = f"simulate: protection_every must be > 0 hours. Got {every!r}."
        raise OmnistockError(msg)
    if mode is None:
        return network
    if mode == "fixed":
        return network.model_copy(update={"protection": ()})
    from omnistock.protection import levels

    if forecast is None:
        orders, when = list(stream), np.asarray(hours, dtype=np.float64)
    elif isinstance(forecast, tuple):
        orders, when = list(forecast[0]), np.asarray(forecast[1], dtype=np.float64)
    else:
        orders, when = list(forecast), np.zeros(0)
    span = HOURS_PER_DAY * max(
        1.0, math.ceil((when.max() + 1e-9) / HOURS_PER_DAY) if when.size else 1.0
    )
    scale = 1.0 if every is None else every / span
    demand = forecast_demand(network, orders, scale)
    if demand.height == 0:  # no stock row, or no forecast order
        return network.model_copy(update={"protection": ()})
    rules, costs = network.rules, network.costs
    values = {t: rules.tier_weight(t) * costs.unfilled for t in demand["tier"].unique()}
    return network.with_protection(levels(demand, values))


def protection_times(horizon: float, every: float | None) -> list[float]:
    """Hours at which the nested heads restart (every ``every`` hours, after 0)."""
    if every is None:
        return []
    return [float(t) for t in np.arange(every, horizon + 1e-9, every)]
