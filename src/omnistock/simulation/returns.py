"""Customer returns in a simulation: the :class:`Returns` rule and the flow of returned units.

Each allocated unit of an order whose channel has a return rate comes back with that
probability, ``delay_days`` after the order's arrival, to the node that shipped it
(``"origin"``) or to the store nearest the order's destination (``"nearest_store"``;
a pickup order: its pickup node). A share ``restock_share`` of the returned units is
restocked, the rest is unsellable: the rules of ``StockPool.receive_return``
(restocked units are sellable from then on, at that node, also by ship-from-store).

The draws are made once per *unit of a line* before the run (two uniforms each: does
it come back, is it restocked), so the same seed gives every policy the same customers
returning the same units (common random numbers): the returns of a line's ``q``
allocated units are decided by its first ``q`` draws, whichever nodes shipped them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from omnistock.compiled import KIND_CODES, CompiledScenario
from omnistock.compiled.allocations import Triples, concat_triples, stock_rows
from omnistock.exceptions import InvalidArgument
from omnistock.model.network import StockRecord
from omnistock.model.orders import Order
from omnistock.model.scenario import Scenario
from omnistock.simulation.kpis import HOURS_PER_DAY

if TYPE_CHECKING:
    from omnistock.simulation.replenishment import SimStock
    from omnistock.simulation.run import Simulation

__all__ = ["RETURN_KPIS", "ReturnFlow", "Returns", "return_rows"]

#: The KPI columns returns add, per day and over the run.
RETURN_KPIS = ("returned", "restocked", "unsellable", "sold_from_returns")

_FN = "simulate"
_TOS = ("origin", "nearest_store")


def _fraction(name: str, value: object) -> float:
    """``value`` as a float in [0, 1], or InvalidArgument naming ``name``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0.0 <= float(value) <= 1.0
    ):
        msg = f"{name} must be a number in [0, 1]. Got {value!r}."
        raise InvalidArgument(_FN, name.split("[")[0], msg)
    return float(value)


@dataclass(frozen=True)
class Returns:
    """How customers return units in :func:`~omnistock.simulation.simulate`.

    Parameters
    ----------
    rate
        Channel name -> probability in [0, 1] that each allocated unit of an order
        of that channel comes back (channels not listed: 0).
    delay_days
        Days (>= 0) between the order's arrival and the return.
    to
        ``"origin"``: the node that shipped the unit; ``"nearest_store"``: the
        store nearest the order's destination (a pickup order: its pickup node).
    restock_share
        Probability in [0, 1] that a returned unit is restocked (sellable at that
        node from the return on); the others are counted unsellable.
    seed
        Seed of the draws; None: the simulation's ``seed``.
    """

    rate: Mapping[str, float]
    delay_days: float = 7.0
    to: Literal["origin", "nearest_store"] = "origin"
    restock_share: float = 1.0
    seed: int | None = None
    _rates: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.rate, Mapping):
            msg = f"returns.rate must map channel names to rates. Got {self.rate!r}."
            raise InvalidArgument(_FN, "rate", msg)
        rates: dict[str, float] = {}
        for channel, value in self.rate.items():
            if not isinstance(channel, str) or not channel:
                msg = f"returns.rate: channel names are non-empty strings. Got {channel!r}."
                raise InvalidArgument(_FN, "rate", msg)
            rates[channel] = _fraction(f"rate[{channel!r}]", value)
        object.__setattr__(self, "_rates", rates)
        delay = self.delay_days
        if (
            isinstance(delay, bool)
            or not isinstance(delay, int | float)
            or not math.isfinite(delay)
            or delay < 0
        ):
            msg = f"returns.delay_days must be a finite number >= 0. Got {delay!r}."
            raise InvalidArgument(_FN, "delay_days", msg)
        if self.to not in _TOS:
            msg = f"returns.to must be one of origin, nearest_store. Got {self.to!r}."
            raise InvalidArgument(_FN, "to", msg)
        _fraction("restock_share", self.restock_share)
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            msg = f"returns.seed must be an integer or None. Got {self.seed!r}."
            raise InvalidArgument(_FN, "seed", msg)

    def check_channels(self, known: set[str]) -> None:
        """InvalidArgument for a rate of a channel neither the network nor the stream knows."""
        unknown = sorted(set(self._rates) - known)
        if unknown:
            msg = (
                f"returns.rate: unknown channel {unknown[0]!r}; known channels are "
                f"{sorted(known)}."
            )
            raise InvalidArgument(_FN, "rate", msg)

    def rate_of(self, channel: str) -> float:
        """The return rate of ``channel`` (0 when not listed)."""
        return self._rates.get(channel, 0.0)


class ReturnFlow:
    """The returns of one run: draws, scheduled returns, the log and the KPIs.

    Parameters
    ----------
    rule
        The :class:`Returns` rule.
    compiled
        The compiled network and stream.
    orders
        The stream (for the channels).
    hours
        Arrival hour of each order.
    seed
        The simulation's seed (used when ``rule.seed`` is None).
    """

    def __init__(
        self,
        rule: Returns,
        compiled: CompiledScenario,
        orders: Sequence[Order],
        hours: np.ndarray,
        seed: int,
    ) -> None:
        from omnistock.samples._generate import CHANNELS

        net, co = compiled.network, compiled.orders
        rule.check_channels(
            set(net.channel_ids) | {o.channel for o in orders} | set(CHANNELS)
        )
        self.rule, self.compiled, self.hours = rule, compiled, hours
        rng = np.random.default_rng(rule.seed if rule.seed is not None else seed)
        self.unit_ptr = np.concatenate([[0], np.cumsum(co.line_qty)]).astype(np.int64)
        n_units = int(self.unit_ptr[-1])
        order_rate = np.array([rule.rate_of(o.channel) for o in orders], np.float64)
        unit_line = np.repeat(np.arange(co.n_lines), co.line_qty)
        back = rng.random(n_units) < order_rate[co.line_order][unit_line]
        kept = back & (rng.random(n_units) < rule.restock_share)
        # Prefix counts: the returns of units [a, b) of the stream are cb[b] - cb[a].
        self.cum_back = np.concatenate([[0], np.cumsum(back)]).astype(np.int64)
        self.cum_kept = np.concatenate([[0], np.cumsum(kept)]).astype(np.int64)
        self.line_due = hours[co.line_order] + rule.delay_days * HOURS_PER_DAY
        self.line_back = np.diff(self.cum_back[self.unit_ptr]) > 0
        self.target = self._targets()
        self.released = 0  # parts already scheduled
        self.pending: list[tuple[float, int, int, int, int, int]] = []
        self.log: list[tuple[int, int, int, float, int, int]] = []

    def _targets(self) -> np.ndarray:
        """Per line, the node its returns go to (-1: the node that shipped it)."""
        net, co = self.compiled.network, self.compiled.orders
        target = np.full(co.n_lines, -1, dtype=np.int64)
        if self.rule.to == "origin":
            return target
        stores = np.flatnonzero(net.node_kind == KIND_CODES["store"])
        pickup = co.order_pickup[co.line_order]
        need = self.line_back & (pickup < 0)
        if need.any() and stores.size == 0:
            msg = "returns.to is 'nearest_store' but the network has no store."
            raise InvalidArgument(_FN, "to", msg)
        if stores.size:
            # Unit vectors: the largest dot product is the nearest (ties: first node).
            near = stores[np.argmax(co.order_xyz @ net.node_xyz[stores].T, axis=1)]
            target = near[co.line_order]
        return np.where(pickup >= 0, pickup, target).astype(np.int64)

    def missing_rows(self) -> list[tuple[str, str]]:
        """(node_id, sku) a return may reach that has no stock row in the network."""
        net, co = self.compiled.network, self.compiled.orders
        lines = np.flatnonzero(self.line_back & (self.target >= 0) & (co.line_sku >= 0))
        pairs = sorted({(int(self.target[i]), int(co.line_sku[i])) for i in lines})
        return [
            (str(net.node_ids[n]), str(net.sku_ids[s]))
            for n, s in pairs
            if net.stock_row(n, s) < 0
        ]

    def events(self, times: list[float], horizon: float) -> list[float]:
        """``times`` with the hours at which some return may fall due (within the run)."""
        due = self.line_due[self.line_back]
        return sorted(set(times) | set(due[due <= horizon + 1e-9].tolist()))

    def step(self, stock: SimStock, parts: list[Triples], now: float) -> None:
        """Schedule the returns of newly released allocations; take back those due at ``now``."""
        for part in parts[self.released :]:
            self._schedule(part)
        self.released = len(parts)
        due = [p for p in self.pending if p[0] <= now + 1e-9]
        if not due:
            return
        self.pending = [p for p in self.pending if p[0] > now + 1e-9]
        rows = np.array([p[3] for p in due], dtype=np.int64)
        kept = np.array([p[5] for p in due], dtype=np.int64)
        stock.receive(rows[kept > 0], kept[kept > 0])  # back on hand, as a receipt
        self.log.extend((p[1], p[2], p[3], now, p[4], p[5]) for p in due)

    def _schedule(self, part: Triples) -> None:
        """Returned and restocked units of each allocation triple, by its line's draws."""
        line, node, qty = part
        if line.size == 0:
            return
        # Offset of each triple's units within its line (triples of a line in order).
        order = np.argsort(line, kind="stable")
        ln, q = line[order], qty[order]
        before = np.cumsum(q) - q
        first = np.r_[True, ln[1:] != ln[:-1]]
        offset = np.empty_like(q)
        offset[order] = (
            before
            - before[np.maximum.accumulate(np.where(first, np.arange(ln.size), 0))]
        )
        start = self.unit_ptr[line] + offset
        n_back = self.cum_back[start + qty] - self.cum_back[start]
        n_kept = self.cum_kept[start + qty] - self.cum_kept[start]
        net, sku = self.compiled.network, self.compiled.orders.line_sku
        hit = np.flatnonzero(n_back > 0)
        back_line, back_node = line[hit], node[hit]
        target = self.target[back_line]
        to = np.where(target >= 0, target, back_node)
        self.pending.extend(
            zip(
                self.line_due[back_line].tolist(),
                back_line.tolist(),
                back_node.tolist(),
                stock_rows(net, sku[back_line], to).tolist(),
                n_back[hit].tolist(),
                n_kept[hit].tolist(),
                strict=True,
            )
        )

    def report(
        self, sim: Simulation, stock: SimStock, parts: list[Triples], horizon: float
    ) -> Simulation:
        """``sim`` with the return KPIs per day and overall, and the returns in ``info``.

        The returns of the orders released last (after the loop) that fall due
        within the run are taken back first.
        """
        self.step(stock, parts, horizon)
        net, co = self.compiled.network, self.compiled.orders
        log = self.log
        line = np.array([r[0] for r in log], dtype=np.int64)
        row = np.array([r[2] for r in log], dtype=np.int64)
        hour = np.array([r[3] for r in log], dtype=np.float64)
        frame = pl.DataFrame(
            {
                "order_id": co.order_ids[co.line_order[line]].tolist(),
                "sku": co.line_sku_ids[line].tolist(),
                "from_node": net.node_ids[
                    np.array([r[1] for r in log], np.int64)
                ].tolist(),
                "node_id": net.node_ids[net.stock_node[row]].tolist(),
                "hour": hour,
                "day": np.floor(hour / HOURS_PER_DAY).astype(np.int64),
                "returned": np.array([r[4] for r in log], dtype=np.int64),
                "restocked": np.array([r[5] for r in log], dtype=np.int64),
            },
            schema_overrides={
                "order_id": pl.String,
                "sku": pl.String,
                "from_node": pl.String,
                "node_id": pl.String,
            },
        ).with_columns(unsellable=pl.col("returned") - pl.col("restocked"))
        sold = self._sold(parts, row, hour, frame["restocked"].to_numpy())
        per_day = (
            pl.concat(
                [
                    frame.select("day", *RETURN_KPIS[:3]).with_columns(
                        sold_from_returns=pl.lit(0, pl.Int64)
                    ),
                    sold,
                ],
                how="vertical_relaxed",
            )
            .group_by("day")
            .agg(pl.col(c).sum() for c in RETURN_KPIS)
        )
        daily = (
            sim.daily.join(per_day, on="day", how="full", coalesce=True)
            .with_columns(pl.col(c).fill_null(0) for c in RETURN_KPIS)
            .sort("day")
        )
        kpis = dict(sim.kpis)
        for c in RETURN_KPIS:
            kpis[c] = float(per_day[c].sum())
        info = {**sim.info, "returns": frame}
        return replace(sim, daily=daily, kpis=kpis, info=info)

    def _sold(
        self, parts: list[Triples], row: np.ndarray, hour: np.ndarray, kept: np.ndarray
    ) -> pl.DataFrame:
        """Units sold from restocked returns, per day of the order that took them.

        Restocked units are sold first: a final allocation from a row at hour t
        takes the units restocked there before t (at t: before it) and not yet
        sold, before older stock.
        """
        net, co = self.compiled.network, self.compiled.orders
        shelf: dict[int, list[tuple[float, int]]] = {}
        for r, h, k in zip(row.tolist(), hour.tolist(), kept.tolist(), strict=True):
            if k > 0:
                shelf.setdefault(r, []).append((h, k))
        days: dict[int, int] = {}
        if shelf:
            line, node, qty = concat_triples(parts)
            rows = stock_rows(net, co.line_sku[line], node)
            at = self.hours[co.line_order[line]]
            # Only allocations from rows that received restocked units, by arrival.
            mine = np.flatnonzero(np.isin(rows, list(shelf)))
            for i in mine[np.argsort(at[mine], kind="stable")].tolist():
                stack = shelf[int(rows[i])]
                on = sum(k for h, k in stack if h <= at[i])
                take = min(int(qty[i]), on)
                if take:
                    self._take(stack, float(at[i]), take)
                    d = int(at[i] // HOURS_PER_DAY)
                    days[d] = days.get(d, 0) + take
        return pl.DataFrame(
            {
                "day": list(days),
                "returned": [0] * len(days),
                "restocked": [0] * len(days),
                "unsellable": [0] * len(days),
                "sold_from_returns": list(days.values()),
            },
            schema=dict.fromkeys(("day", *RETURN_KPIS), pl.Int64),
        )

    @staticmethod
    def _take(stack: list[tuple[float, int]], at: float, take: int) -> None:
        """Take ``take`` restocked units on the shelf at ``at``, the latest first."""
        for j in range(len(stack) - 1, -1, -1):
            h, k = stack[j]
            if h > at or take == 0:
                continue
            use = min(k, take)
            stack[j] = (h, k - use)
            take -= use


def return_rows(
    network: Scenario,
    rule: Returns,
    compiled: CompiledScenario,
    orders: Sequence[Order],
    hours: np.ndarray,
    seed: int,
) -> Scenario:
    """``network`` with an empty stock row wherever one of the stream's returns may go.

    Only (node, SKU) pairs a drawn return reaches and the network lacks (a store
    that never stocked the SKU): the compiled network's rows are fixed during the
    run, so they are added before it (they hold nothing until a return comes).
    """
    pairs = ReturnFlow(rule, compiled, orders, hours, seed).missing_rows()
    extra = tuple(StockRecord(node=n, sku=s, on_hand=0) for n, s in pairs)
    return network.model_copy(update={"stock": (*network.stock, *extra)})
