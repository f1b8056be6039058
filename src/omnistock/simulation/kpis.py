"""The KPIs of a simulation: per order, per day and overall, as polars frames."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from omnistock._kernels.codes import COST_DISTANCE
from omnistock._kernels.geo import km_pairs
from omnistock.compiled import KIND_CODES, CompiledScenario
from omnistock.compiled.allocations import Triples, order_costs, price_orders

if TYPE_CHECKING:
    from omnistock.simulation.run import Simulation

__all__ = ["HOURS_PER_DAY", "report", "tier_kpis"]

HOURS_PER_DAY = 24.0


def report(
    compiled: CompiledScenario,
    triples: Triples,
    hours: np.ndarray,
    replanned: np.ndarray,
    protected_line: np.ndarray,
    decide_seconds: float,
    policy: str,
) -> Simulation:
    """Frames and KPIs of the final allocations of the stream."""
    net, co = compiled.network, compiled.orders
    line, node, qty = triples
    per_order, unfilled_qty, pair_order, pair_node = price_orders(compiled, triples)
    n = co.n_orders
    km = (
        km_pairs(net.node_xyz[pair_node], co.order_xyz[pair_order])
        if pair_order.size
        else np.zeros(0)
    )
    store = net.node_kind[node] == KIND_CODES["store"]
    short_line = unfilled_qty > 0
    hit = (
        np.bincount(co.line_order, weights=short_line & protected_line, minlength=n) > 0
    )
    hit &= ~co.order_exempt
    orders = pl.DataFrame(
        {
            "order_id": co.order_ids,
            "arrival_h": hours,
            "day": np.floor(hours / HOURS_PER_DAY).astype(np.int64),
            "tier": co.order_tier,
            "exempt": co.order_exempt,
            "cost": order_costs(compiled, triples),  # v1.1 terms too
            "distance_cost": per_order[:, COST_DISTANCE],
            "packages": np.bincount(pair_order, minlength=n).astype(np.int64),
            "km": np.bincount(pair_order, weights=km, minlength=n),
            "units": np.bincount(
                co.line_order, weights=co.line_qty, minlength=n
            ).astype(np.int64),
            "filled": np.bincount(co.line_order[line], weights=qty, minlength=n).astype(
                np.int64
            ),
            "store_units": np.bincount(
                co.line_order[line], weights=qty * store, minlength=n
            ).astype(np.int64),
            "protection_hit": hit,
            "replanned": replanned,
        }
    )
    decisions = pl.concat(
        [
            pl.DataFrame(
                {
                    "order_id": co.order_ids[co.line_order[line]],
                    "sku": co.line_sku_ids[line],
                    "node_id": net.node_ids[node],
                    "qty": qty,
                }
            ),
            pl.DataFrame(
                {
                    "order_id": co.order_ids[co.line_order[short_line]],
                    "sku": co.line_sku_ids[short_line],
                    "node_id": np.full(int(short_line.sum()), None),
                    "qty": unfilled_qty[short_line],
                },
                schema={
                    "order_id": pl.String,
                    "sku": pl.String,
                    "node_id": pl.String,
                    "qty": pl.Int64,
                },
            ),
        ],
        how="vertical_relaxed",
    ).join(
        orders.select("order_id", "arrival_h", "day", "replanned"),
        on="order_id",
        how="left",
    )
    per_day = orders.group_by("day").agg(_kpi_exprs()).sort("day")
    overall = orders.select(_kpi_exprs()).row(0, named=True)
    overall["decision_us_per_order"] = decide_seconds / n * 1e6 if n else 0.0
    from omnistock.simulation.run import Simulation

    return Simulation(
        decisions=decisions.sort("arrival_h", "order_id", "sku"),
        orders=orders,
        daily=per_day,
        kpis={k: float(v) for k, v in overall.items()},
        policy=policy,
        tiers=tier_kpis(orders, net.tier_weights, net.unfilled),
    )


def tier_kpis(
    orders: pl.DataFrame, weights: dict[str, float], unfilled: float
) -> pl.DataFrame:
    """Per tier: orders, units asked, units served, fill rate and value served.

    A unit served is worth its tier weight x the unfilled cost (what leaving it
    unfilled would have cost, docs/semantics.md S9): ``value_served``.
    """
    value = pl.col("tier").replace_strict(weights, default=1.0, return_dtype=pl.Float64)
    return (
        orders.group_by("tier")
        .agg(
            pl.len().alias("orders"),
            pl.col("units").sum().alias("units"),
            pl.col("filled").sum().alias("units_served"),
            (pl.col("filled") * value * unfilled).sum().alias("value_served"),
        )
        .with_columns(
            (pl.col("units_served") / pl.max_horizontal(pl.col("units"), 1)).alias(
                "fill_rate"
            )
        )
        .sort("tier")
    )


def _kpi_exprs() -> list[pl.Expr]:
    served = pl.col("packages") > 0
    vip = pl.col("exempt")
    return [
        pl.len().alias("orders"),
        (pl.col("cost").sum() / pl.len()).alias("cost_per_order"),
        (pl.col("packages").sum() / pl.max_horizontal(served.sum(), 1)).alias(
            "packages_per_order"
        ),
        (pl.col("filled").sum() / pl.max_horizontal(pl.col("units").sum(), 1)).alias(
            "fill_rate"
        ),
        (pl.col("units").sum() - pl.col("filled").sum()).alias("lost_units"),
        (pl.col("km").sum() / pl.max_horizontal(pl.col("packages").sum(), 1)).alias(
            "mean_km"
        ),
        (
            pl.col("filled").filter(vip).sum()
            / pl.max_horizontal(pl.col("units").filter(vip).sum(), 1)
        ).alias("vip_fill_rate"),
        pl.col("protection_hit").sum().alias("protection_hits"),
        (
            pl.col("store_units").sum() / pl.max_horizontal(pl.col("filled").sum(), 1)
        ).alias("store_share"),
        pl.col("replanned").sum().alias("replanned_orders"),
        pl.col("cost").sum().alias("objective"),
    ]
