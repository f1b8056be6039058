"""Sample networks and order streams around real US cities, seeded and reproducible.

``network(name, seed)`` builds a network (nodes, stock, rules; no orders) and
``orders(network, n, seed)`` draws a batch of orders for it; together they make a
scenario with ``network.with_orders(orders)``. Same arguments, same bytes.

The places are real: 99 US cities with their population and 10 real fulfilment
centres (``SOURCE.md`` in this package names the source). Warehouses sit at
fulfilment centres, stores in cities drawn by population, customers around cities
drawn by population. SKU popularity is Zipf-like and follows the order of the SKU
ids (the first, e.g. ``SKU-00000`` on "large", is the most popular).

=========  ==========  ======  ======  =====================================
name       warehouses  stores  SKUs    stock rows (about)
=========  ==========  ======  ======  =====================================
small      3           30      200     1,700
medium     6           300     5,000   98,000
large      10          2,000   50,000  860,000
us         10          99      1,000   18,000 (one store in each city)
=========  ==========  ======  ======  =====================================
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from omnistock.exceptions import InvalidArgument
from omnistock.model.orders import Order
from omnistock.model.scenario import Scenario
from omnistock.samples._carrier import COST_MODELS, with_carrier_costs
from omnistock.samples._generate import (
    CHANNELS,
    METHOD_NAMES,
    SPECS,
    TIERS,
    build_network,
    build_orders,
    draw_orders,
)
from omnistock.samples._lockers import with_lockers

__all__ = ["NAMES", "network", "orders", "orders_frame"]

#: The names :func:`network` accepts.
NAMES: tuple[str, ...] = tuple(SPECS)

#: Relative order intake per hour of the day (0h..23h): quiet nights, busy evenings.
HOURLY_PROFILE: tuple[float, ...] = (
    0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.4, 0.7, 1.0, 1.2, 1.3, 1.4,
    1.5, 1.4, 1.3, 1.3, 1.3, 1.4, 1.6, 1.8, 1.9, 1.7, 1.2, 0.6,
)  # fmt: skip

#: Monday 5 January 2026, midnight: the default start of :func:`orders_frame`.
DEFAULT_START = dt.datetime(2026, 1, 5)


def network(
    name: str, seed: int = 0, costs: str = "flat", lockers: int = 0
) -> Scenario:
    """
    Build the sample network ``name``: nodes, stock, rules and costs; no orders.

    Warehouses stand at real fulfilment centres (a geographic spread of them when
    the network has fewer than 10), stock deep, cost little per unit and come
    first by priority. Stores stand in cities drawn by population (several in the
    big ones, jittered by a few km), carry a popularity-biased subset of SKUs with
    a few units each, and cost more per unit and per package. A share of stores
    offer "pickup" and "same_day"; a few serve only the "app" and "store" channels
    and a few have a capacity. Some units are reserved or held as safety stock.
    Rules: stores keep their last unit from non-VIP orders
    (``last_unit_protection={"store": 1}``), VIP orders are exempt and weigh twice
    on unfilled cost. Costs are the defaults.

    Parameters
    ----------
    name
        One of :data:`NAMES`: "small" (3 warehouses, 30 stores, 200 SKUs),
        "medium" (6, 300, 5,000), "large" (10, 2,000, 50,000) or "us" (the 10 real
        fulfilment centres and one store at each of the 99 cities, 1,000 SKUs).
    seed
        Seed of the random stream. Default 0; the same seed gives the same bytes.
    costs
        "flat" (default: contract v1 costs, the same bytes as ever) or "carrier"
        (contract v1.1: the same nodes and stock with SKU weights of 0.1 to 25 kg
        and a rate card: ship zones by distance with package and per-kg rates, one
        short, dear same-day band, pickup transfer bands).
    lockers
        Parcel lockers to add near the biggest cities (docs/semantics.md, S11),
        after the other nodes: ids ``LCK-1``.., methods exactly "pickup", no
        stock, 20 to 60 parcels each, drawn from a stream of their own. Default 0:
        the network is byte-identical to one built without the argument.

    Returns
    -------
    Scenario
        The network, with no orders; add some with
        ``network.with_orders(orders(network, n))``.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`NAMES`, ``costs`` not "flat" or "carrier",
        or ``lockers`` not an integer >= 0.

    Examples
    --------
    >>> from omnistock import samples
    >>> net = samples.network("small", seed=1)
    >>> sum(n.kind == "warehouse" for n in net.nodes), sum(n.kind == "store" for n in net.nodes)
    (3, 30)
    >>> net.model_dump_json() == samples.network("small", seed=1).model_dump_json()
    True
    """
    if name not in SPECS:
        detail = f"name must be one of {', '.join(NAMES)}. Got {name!r}."
        raise InvalidArgument(
            function="samples.network", argument="name", detail=detail
        )
    if costs not in COST_MODELS:
        detail = f"costs must be one of {', '.join(COST_MODELS)}. Got {costs!r}."
        raise InvalidArgument(
            function="samples.network", argument="costs", detail=detail
        )
    if isinstance(lockers, bool) or not isinstance(lockers, int) or lockers < 0:
        detail = f"lockers must be an integer >= 0. Got {lockers!r}."
        raise InvalidArgument(
            function="samples.network", argument="lockers", detail=detail
        )
    flat = with_lockers(build_network(name, seed), lockers, seed)
    return flat if costs == "flat" else with_carrier_costs(flat, seed)


def orders(network: Scenario, n: int, seed: int = 0) -> list[Order]:
    """
    Draw ``n`` orders for ``network``: destinations follow city population.

    Each order has 1 to 5 lines (mostly 1 or 2) of distinct SKUs drawn by Zipf
    popularity (the rank of a SKU is its position among the network's sorted SKU
    ids), mostly of one unit. Channels mix "web", "app", "store" and
    "call_center"; about 8% of orders are "vip". About 10% are pickups at a node
    offering "pickup", 7% are same-day deliveries to a customer near a node
    offering "same_day", the rest ship. A few orders are ``ship_complete``, a few
    ``allow_partial=False`` and a few carry ``max_splits``.

    Parameters
    ----------
    network
        A network, usually from :func:`network`; it is not changed.
    n
        Number of orders, >= 0. Ids are ``O-000000``, ``O-000001``, ...
    seed
        Seed of the random stream. Default 0; the same seed gives the same orders.

    Returns
    -------
    list[Order]
        The orders; ``network.with_orders(...)`` makes them a scenario.

    Raises
    ------
    ValueError
        If ``n < 0`` or the network stocks no SKU.

    Examples
    --------
    >>> from omnistock import samples
    >>> net = samples.network("small")
    >>> batch = samples.orders(net, 100, seed=3)
    >>> len(batch), batch[0].id
    (100, 'O-000000')
    >>> scenario = net.with_orders(batch)
    >>> len(scenario.orders)
    100
    """
    return build_orders(draw_orders(network, n, seed))


def orders_frame(
    network: Scenario,
    n: int,
    seed: int = 0,
    *,
    days: float = 1.0,
    start: dt.datetime = DEFAULT_START,
) -> pl.DataFrame:
    """
    Arrival times and a summary of the orders ``orders(network, n, seed)``.

    The orders arrive over ``days`` days from ``start``, following
    :data:`HOURLY_PROFILE`; row ``i`` is order ``i`` of :func:`orders` with the
    same arguments, and ids are in arrival order. For a simulator: join on
    ``order_id`` or zip with the list.

    Parameters
    ----------
    network
        A network, usually from :func:`network`.
    n
        Number of orders, >= 0.
    seed
        Seed of the random streams (the orders' and the arrivals').
    days
        Length of the arrival window in days, > 0. Default 1.0.
    start
        When the window opens. Default :data:`DEFAULT_START`.

    Returns
    -------
    polars.DataFrame
        Columns ``order_id`` (str), ``arrival`` (datetime, µs, ascending),
        ``channel``, ``method``, ``tier`` (str), ``pickup_node`` (str, null unless
        pickup), ``n_lines`` and ``units`` (int64).

    Raises
    ------
    ValueError
        If ``days <= 0`` or as :func:`orders`.

    Examples
    --------
    >>> from omnistock import samples
    >>> net = samples.network("small")
    >>> frame = samples.orders_frame(net, 50, seed=3, days=2.0)
    >>> frame.columns[:3], frame.height
    (['order_id', 'arrival', 'channel'], 50)
    >>> frame["arrival"].is_sorted()
    True
    """
    if not days > 0:
        detail = f"days must be > 0. Got days={days!r}."
        raise InvalidArgument(
            function="samples.orders_frame", argument="days", detail=detail
        )
    draw = draw_orders(network, n, seed)
    rng = np.random.default_rng(
        (seed, 1)
    )  # a stream of its own: orders() stays the same
    hours = days * 24.0
    edges = np.append(np.arange(0.0, hours, 1.0), hours)
    weight = np.asarray(HOURLY_PROFILE)[np.arange(edges.size - 1) % 24] * np.diff(edges)
    cdf = np.cumsum(weight) / weight.sum()
    hour = np.searchsorted(cdf, rng.random(n), side="right")
    offset_h = edges[hour] + rng.random(n) * np.diff(edges)[hour]
    offset_us = np.sort(np.round(offset_h * 3_600e6)).astype(np.int64)
    units = np.add.reduceat(draw.line_qty, draw.line_indptr[:-1]) if n else np.zeros(0)
    pickup = [draw.node_ids[i] if i >= 0 else None for i in draw.pickup.tolist()]
    offset = pl.Series(offset_us, dtype=pl.Int64).cast(pl.Duration("us"))
    arrival = pl.select(pl.lit(start).dt.cast_time_unit("us") + offset).to_series()
    return pl.DataFrame(
        {
            "order_id": draw.order_ids,
            "arrival": arrival,
            "channel": [CHANNELS[i] for i in draw.channel.tolist()],
            "method": [METHOD_NAMES[i] for i in draw.method.tolist()],
            "tier": [TIERS[i] for i in draw.tier.tolist()],
            "pickup_node": pl.Series(pickup, dtype=pl.String),
            "n_lines": np.diff(draw.line_indptr),
            "units": np.asarray(units, dtype=np.int64),
        }
    )
