"""Simulate an allocation policy over a stream of timed orders.

Orders are decided on arrival, one at a time, against the stock left; stock
depletes, receipts arrive on a schedule (a frame of receipts, or a periodic
order-up-to rule), and optionally the unreleased orders are re-planned every few
hours (Xu, Allgor & Graves 2009) and then released. Between two events (a receipt,
a re-plan, a day boundary, a price refresh) the arriving orders are decided by one
call of the policy's solver on the state at the start of the segment: for the
per-order policies that is exactly the same as deciding them one by one, because
each of them takes the stock left by the previous order.

Stock follows the plan semantics over the whole stream (docs/semantics.md): a
node-SKU's free units are its initial free units plus its receipts, less what the
stream took; non-exempt tiers together take at most that total less the protected
units. Capacity and protection hold for the whole run, or for each plan period
(``plan_hours``), after which they start again from the stock at hand.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel

from omnistock import solvers
from omnistock.compiled import (
    NO_LIMIT,
    CompiledScenario,
    compile_network,
    compile_orders,
)
from omnistock.compiled.allocations import Triples, concat_triples, order_costs
from omnistock.exceptions import OmnistockError
from omnistock.model.orders import Order
from omnistock.model.scenario import Scenario
from omnistock.simulation.arrivals import arrival_hours
from omnistock.simulation.kpis import HOURS_PER_DAY, report
from omnistock.simulation.protecting import protected_network, protection_times
from omnistock.simulation.replenishment import (
    OrderUpTo,
    SimStock,
    arrive,
    protected_lines,
    receipts_rows,
    review,
)
from omnistock.simulation.returns import ReturnFlow, Returns, return_rows
from omnistock.solvers.sequential import Runs, solve_orders
from omnistock.solving import validate_options

__all__ = ["OrderUpTo", "Simulation", "arrival_hours", "prepare_stream", "simulate"]


@dataclass(frozen=True)
class Simulation:
    """What a simulation returns.

    Attributes
    ----------
    decisions
        One row per allocation (``node_id`` set) or unfilled line (``node_id`` null):
        order_id, sku, node_id, qty, arrival_h, day, replanned.
    orders
        One row per order: order_id, arrival_h, day, tier, cost, packages, units,
        filled, km (sum over its packages), store_units, protection_hit, replanned.
    daily
        KPIs per simulated day (columns as :attr:`kpis`, plus ``day``).
    kpis
        Over the whole run: orders, cost_per_order, packages_per_order, fill_rate,
        lost_units, mean_km, vip_fill_rate, protection_hits, store_share,
        decision_us_per_order, objective.
    policy
        The policy's name.
    info
        Extras: ``returns``, the frame of customer returns when simulated with them.
    tiers
        Per tier: orders, units, units_served, value_served, fill_rate.
    """

    decisions: pl.DataFrame
    orders: pl.DataFrame
    daily: pl.DataFrame
    kpis: dict[str, float]
    policy: str
    info: dict[str, Any] = field(default_factory=dict)
    tiers: pl.DataFrame | None = None


def simulate(
    network: Scenario,
    orders: Sequence[Order],
    policy: str = "greedy",
    *,
    arrivals: pl.DataFrame | Sequence[float] | np.ndarray | None = None,
    receipts: pl.DataFrame | None = None,
    replenish: OrderUpTo | None = None,
    replan_every: float | None = None,
    replan_solver: str = "optimal",
    replan_options: dict[str, Any] | None = None,
    policy_options: dict[str, Any] | None = None,
    refresh_every: float = HOURS_PER_DAY,
    forecast_periods: int = 1,
    forecast_prices: str = "pooled",
    forecast: Sequence[Order] | tuple[Sequence[Order], Sequence[float]] | None = None,
    plan_hours: float | None = None,
    seed: int = 0,
    progress: bool = False,
    returns: Returns | None = None,
    protection: str | None = None,
    protection_every: float | None = None,
) -> Simulation:
    """Run ``orders`` through ``policy`` over simulated time.

    Parameters
    ----------
    network
        The network and its initial stock (its own orders, if any, are ignored).
    orders
        The stream, e.g. ``samples.orders(network, n, seed)``.
    policy
        A solver name (``greedy``, ``priority``, ``nearest``, ``most_stock``,
        ``lookahead``, ...), deciding each order on arrival.
    arrivals
        Arrival of each order: a frame with ``order_id`` and ``arrival`` (datetime or
        hours), or hours per order. Default: spread evenly over one day.
    receipts
        Scheduled receipts: ``hour`` (since the start), ``node_id``, ``sku``, ``qty``.
    replenish
        A periodic :class:`OrderUpTo` rule, on top of ``receipts``.
    replan_every
        Hours between re-plans of the orders decided since the last one (then
        released); ``None``: orders are released on arrival.
    replan_solver, replan_options
        The solver and options of each re-plan (default ``optimal``).
    policy_options
        Options of the policy's solver.
    refresh_every
        Hours between refreshes of the look-ahead policy's prices.
    forecast
        Expected demand of one plan period (or of the whole run) for the look-ahead
        policy: orders drawn from the same distribution, never the stream itself,
        with their arrival hours within the period (``(orders, hours)``) or spread
        evenly. At each refresh the orders still to come in the period are the
        expected demand. Default: the orders seen so far, scaled to the time left.
    forecast_periods
        How many periods of draws ``forecast`` holds (their hours taken modulo the
        period): the prices then come from an LP of that many times the stock, i.e.
        from the average demand of one period, which smooths the prices.
    forecast_prices
        How a forecast of several periods is priced: ``"pooled"`` (default), one
        LP of all the draws against ``forecast_periods`` times the stock (the
        deterministic LP of the mean demand); ``"average"``, one LP per period of
        draws against the stock itself, the prices averaged over them (a
        randomized LP, Talluri & van Ryzin 1999). The mean demand of a store's
        SKU for same-day or pickup orders is often well under one unit, so the
        pooled LP prices its last units at 0; ``"average"`` keeps the share of
        their value the draws that need them give.
    plan_hours
        Length of a plan period in hours. None (default): the whole run is one plan,
        as in the semantics, so the hindsight optimum of the stream bounds every
        policy. With e.g. 24, each day is a plan: capacities and protection limits
        start again from the stock at hand every 24 h.
    seed
        Seed of the re-planning solver, and of the returns' draws unless
        ``returns.seed`` is given (nothing else is drawn).
    progress
        Show a progress bar (tqdm) over segments.
    returns
        Customer returns (:class:`Returns`, rules in :mod:`.returns`); KPIs gain
        ``returned``, ``restocked``, ``unsellable``, ``sold_from_returns`` and
        ``info["returns"]`` lists them. None (default): no returns.
    protection, protection_every
        None (the network's own), ``"fixed"`` (v1's rule) or ``"emsr_b"`` (a
        table from ``forecast``, heads restarting every ``protection_every`` h).

    Returns
    -------
    Simulation
        Decisions, per-order rows, daily and overall KPIs.
    """
    if forecast_prices not in ("pooled", "average"):
        msg = (
            "simulate: forecast_prices must be one of pooled, average. "
            f"Got {forecast_prices!r}."
        )
        raise OmnistockError(msg)
    order_list, hours, compiled = prepare_stream(network, orders, arrivals)
    if protection is not None:  # issue 16: the stream on the protected network
        spec = (protection, protection_every, forecast, order_list, hours)
        network = protected_network(network, *spec)
        order_list, hours, compiled = prepare_stream(network, order_list, arrivals)
    flow = None
    if returns is not None:  # first empty rows where a return may reach (decisions.md)
        network = return_rows(network, returns, compiled, order_list, hours, seed)
        order_list, hours, compiled = prepare_stream(network, order_list, arrivals)
        flow = ReturnFlow(returns, compiled, order_list, hours, seed)
    co = compiled.orders
    impl = solvers.get(policy)
    popts: dict[str, Any] = dict(policy_options or {})
    opts = validate_options(policy, popts)  # a bad option fails before the run
    priced = impl.capabilities.priced
    replanner = (
        None
        if replan_every is None
        else _replanner(replan_solver, replan_options or {}, seed)
    )
    stock = SimStock(compiled)
    horizon = float(hours.max()) if hours.size else 0.0

    events = _event_times(
        horizon,
        replan_every,
        refresh_every if priced else None,
        receipts,
        replenish,
    )
    events = sorted({*events, *protection_times(horizon, protection_every)})
    if flow is not None:
        events = flow.events(events, horizon)
    receipt_rows, receipt_hours, receipt_qty = receipts_rows(compiled.network, receipts)
    scheduled: list[tuple[float, np.ndarray, np.ndarray]] = []

    order_sorted = np.argsort(hours, kind="stable")
    sorted_hours = hours[order_sorted]
    parts: list[Triples] = []
    pending: list[tuple[np.ndarray, Triples]] = []
    replanned = np.zeros(co.n_orders, dtype=np.bool_)
    protected_line = np.zeros(co.n_lines, dtype=np.bool_)
    decide_seconds = 0.0
    bounds = [0.0, *[t for t in events if 0.0 < t <= horizon], np.inf]
    bar = _progress(len(bounds) - 1, policy) if progress else None

    def release(held: list[tuple[np.ndarray, Triples]]) -> None:
        """Re-plan the orders decided since the last re-plan, then release them."""
        assert replanner is not None  # held orders exist only when re-planning
        _replan(stock, compiled, held, parts, replanned, replanner)

    for start, stop in itertools.pairwise(bounds):
        # Events at the start of the segment, in this order: re-plan what the last
        # period decided, review and receive stock, open a new plan period, refresh
        # the look-ahead prices.
        if (
            replan_every is not None
            and start > 0
            and start % replan_every == 0
            and pending
        ):
            release(pending)
            pending = []
        if replenish is not None and start > 0 and start % replenish.period_hours == 0:
            scheduled.append(review(stock, replenish, start))
        arrive(stock, receipt_rows, receipt_hours, receipt_qty, scheduled, start)
        if flow is not None:
            flow.step(stock, parts, start)
        if plan_hours is not None and start > 0 and start % plan_hours == 0:
            stock.new_plan()
        if protection_every and start > 0 and start % protection_every == 0:
            stock.restart_protection()
        if priced and start % refresh_every == 0:
            period = plan_hours if plan_hours is not None else _horizon_end(horizon)
            popts["row_cost"], popts["exempt_row_cost"] = _prices(
                stock,
                forecast,
                order_list,
                hours,
                start,
                period,
                forecast_periods,
                forecast_prices,
            )
            opts = validate_options(policy, popts)
        lo, hi = np.searchsorted(sorted_hours, [start, stop], side="left")
        idx = order_sorted[lo:hi]
        if bar is not None:
            bar.update(1)
        if idx.size == 0:
            continue
        done = solve_orders(compiled, idx, impl, opts, stock.state)
        # Read before the segment's own takes: the stock its orders met.
        protected_line[done.line_map] = protected_lines(stock, done.scenario)
        decide_seconds += done.seconds
        triples = done.triples
        stock.apply(compiled, triples, +1)
        if replan_every is None:
            parts.append(triples)
        else:
            pending.append((idx, triples))
    if pending:
        release(pending)
    if bar is not None:
        bar.close()
    line, node, qty = concat_triples(parts)
    sim = report(
        compiled,
        (line, node, qty),
        hours,
        replanned,
        protected_line,
        decide_seconds,
        policy,
    )
    return sim if flow is None else flow.report(sim, stock, parts, horizon)


def prepare_stream(
    network: Scenario,
    orders: Sequence[Order],
    arrivals: pl.DataFrame | Sequence[float] | np.ndarray | None,
) -> tuple[list[Order], np.ndarray, CompiledScenario]:
    """The stream as a list, its arrival hours, and the compiled network + stream."""
    order_list = list(orders)
    hours = (
        np.linspace(0.0, HOURS_PER_DAY, len(order_list), endpoint=False)
        if arrivals is None
        else arrival_hours(arrivals, [o.id for o in order_list])
    )
    extra = sorted({ln.sku for o in order_list for ln in o.lines})
    net = compile_network(network, extra_skus=extra)
    return order_list, hours, CompiledScenario(net, compile_orders(net, order_list))


def _event_times(
    horizon: float,
    replan_every: float | None,
    refresh_every: float | None,
    receipts: pl.DataFrame | None,
    replenish: OrderUpTo | None,
) -> list[float]:
    """Sorted times (hours) at which the state changes other than by an order."""
    end = horizon + 1e-9
    times: set[float] = set(np.arange(0.0, end, HOURS_PER_DAY).tolist())
    for every in (replan_every, refresh_every):
        if every is not None:
            if every <= 0:
                msg = f"simulate: event periods must be > 0 hours. Got {every!r}."
                raise OmnistockError(msg)
            times |= set(np.arange(0.0, end, every).tolist())
    if replenish is not None:
        times |= set(np.arange(0.0, end, replenish.period_hours).tolist())
        times |= {
            t + replenish.lead_time_hours
            for t in np.arange(0.0, end, replenish.period_hours)
        }
    if receipts is not None and receipts.height:
        times |= set(receipts["hour"].cast(pl.Float64).to_list())
    return sorted(times)


def _replanner(
    solver: str, options: dict[str, Any], seed: int
) -> tuple[Runs, BaseModel]:
    """The re-planning solver and its options: 10 s and the run's seed by default."""
    impl = solvers.get(solver)
    opts = dict(options)
    if impl.capabilities.time_limit:
        opts.setdefault("time_limit", 10.0)
    if impl.capabilities.seeded:
        opts.setdefault("seed", seed)
    return impl, validate_options(solver, opts)


def _replan(
    stock: SimStock,
    compiled: CompiledScenario,
    pending: list[tuple[np.ndarray, Triples]],
    parts: list[Triples],
    replanned: np.ndarray,
    replanner: tuple[Runs, BaseModel],
) -> None:
    """Re-optimise the pending orders against the stock they and the rest leave; release them."""
    idx = np.concatenate([p[0] for p in pending])
    old = concat_triples([p[1] for p in pending])
    stock.apply(compiled, old, -1)
    done = solve_orders(compiled, idx, *replanner, stock.state)
    sub, line_map, sol = done.scenario, done.line_map, done.solution
    inverse = np.full(compiled.orders.n_lines, -1, dtype=np.int64)
    inverse[line_map] = np.arange(line_map.shape[0])
    old_sub = (inverse[old[0]], old[1], old[2])
    new_sub = (
        np.asarray(sol.line_idx, np.int64),
        np.asarray(sol.node_idx, np.int64),
        np.asarray(sol.qty, np.int64),
    )
    old_cost = order_costs(sub, old_sub)
    new_cost = order_costs(sub, new_sub)
    if new_cost.sum() < old_cost.sum() - 1e-9:
        chosen: Triples = done.triples
        replanned[idx[np.abs(new_cost - old_cost) > 1e-9]] = True
    else:
        chosen = old
    stock.apply(compiled, chosen, +1)
    parts.append(chosen)


def _horizon_end(horizon: float) -> float:
    """The end of the run: the last arrival, rounded up to whole days."""
    return float(
        max(HOURS_PER_DAY, np.ceil((horizon + 1e-9) / HOURS_PER_DAY) * HOURS_PER_DAY)
    )


def _prices(
    stock: SimStock,
    forecast: Sequence[Order] | tuple[Sequence[Order], Sequence[float]] | None,
    stream: Sequence[Order],
    hours: np.ndarray,
    now: float,
    period: float,
    forecast_periods: int = 1,
    forecast_prices: str = "pooled",
) -> tuple[np.ndarray, np.ndarray]:
    """Shadow prices of the stock rows for the demand expected in the rest of the period.

    Returns the prices of non-exempt and of exempt orders (``tier_prices``).
    """
    from omnistock.solvers.lookahead import tier_prices

    into = now % period
    k = max(1, forecast_periods)
    if forecast is not None:
        f_orders = list(forecast[0] if isinstance(forecast, tuple) else forecast)
        if isinstance(forecast, tuple):
            raw = np.asarray(forecast[1], dtype=np.float64)
            f_hours = raw % period
            draw = np.clip(np.floor(raw / period), 0, k - 1).astype(np.int64)
        else:
            f_hours = np.linspace(0.0, period, len(f_orders), endpoint=False)
            draw = np.arange(len(f_orders), dtype=np.int64) * k // max(len(f_orders), 1)
        keep = f_hours >= into
        expected = [o for o, kept in zip(f_orders, keep, strict=True) if kept]
        expected_draw = draw[keep]
    else:
        seen = [o for o, h in zip(stream, hours, strict=True) if h < now]
        n = round(len(seen) * (period - into) / now) if now > 0 else 0
        expected = [seen[i % len(seen)] for i in range(n)] if seen else []
        expected_draw = np.zeros(len(expected), dtype=np.int64)
    zero = np.zeros(stock.state.free.shape[0], dtype=np.float64)
    if not expected:
        return zero, zero.copy()
    if forecast_prices == "average" and forecast is not None:
        # One LP per period of draws against the stock itself; the prices are the
        # mean of their duals (a randomized LP, Talluri & van Ryzin 1999): a unit
        # that some draws need and others do not keeps part of its value.
        standard, exempt = zero.copy(), zero.copy()
        for d in range(k):
            orders = [o for o, e in zip(expected, expected_draw, strict=True) if e == d]
            if orders:
                s, e = tier_prices(stock.scenario(compile_orders(stock.net, orders)))
                standard += s / k
                exempt += e / k
        return standard, exempt
    # A forecast of several periods' draws is the expected demand of one period
    # at that multiple: the LP sees the stock at the same multiple.
    scaled = CompiledScenario(
        stock.net.with_stock(
            free=stock.state.free * k,
            limit=stock.state.limit * k,
            capacity=np.minimum(stock.state.capacity, NO_LIMIT // k) * k,
        ),
        compile_orders(stock.net, expected),
    )
    return tier_prices(scaled)


def _progress(total: int, policy: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=f"simulate {policy}", unit="segment", leave=False)
