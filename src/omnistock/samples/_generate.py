"""The generators behind :mod:`omnistock.samples`: seeded, vectorised, reproducible.

Every random draw comes from one ``np.random.default_rng`` stream per call, in a
fixed order and with fixed sizes, so the same arguments give the same bytes.
Values are drawn as numpy arrays, checked once as arrays, and only then turned
into the pydantic models with ``model_construct`` (no per-record validation):
on "large" (about 860,000 stock rows) per-record validation of the stock alone
took about 3.4 s, as long as building the whole network does now.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import numpy as np
from pydantic import BaseModel

from omnistock.exceptions import InvalidArgument
from omnistock.model.network import Location, Node, StockRecord
from omnistock.model.orders import Order, OrderLine
from omnistock.model.rules import Costs, Rules
from omnistock.model.scenario import Scenario
from omnistock.samples._places import cities, fulfillment_centres, spread_centres

__all__ = ["SPECS", "OrderDraw", "Spec", "build_network", "build_orders", "draw_orders"]


@dataclass(frozen=True)
class Spec:
    """Size and demand level of one named sample network."""

    n_warehouses: int
    n_stores: int
    n_skus: int
    #: Assortment draws per store; repeats are dropped, so a store carries about this many SKUs.
    store_skus: int
    #: Orders per day that the warehouses' stock is sized for.
    daily_orders: int
    #: One store exactly at each city (the "us" network) instead of population-weighted draws.
    store_per_city: bool = False


SPECS: dict[str, Spec] = {
    "small": Spec(3, 30, 200, 60, 1_000),
    "medium": Spec(6, 300, 5_000, 300, 10_000),
    "large": Spec(10, 2_000, 50_000, 300, 100_000),
    "us": Spec(10, 99, 1_000, 150, 10_000, store_per_city=True),
}

ZIPF_EXPONENT = 1.0
#: Store assortments follow popularity ** STORE_TEMPER: broader than demand.
STORE_TEMPER = 0.6
#: Days of demand the warehouses hold together.
WAREHOUSE_COVER_DAYS = 2.0
STORE_JITTER_DEG = 0.05
CUSTOMER_JITTER_DEG = 0.15
#: Same-day customers live near their store: about 9 km per axis, far inside 50 km.
SAME_DAY_JITTER_DEG = 0.08
LINES = (1, 2, 3, 4, 5)
LINES_P = (0.55, 0.25, 0.11, 0.06, 0.03)
QTY = (1, 2, 3, 4)
QTY_P = (0.85, 0.10, 0.03, 0.02)
UNITS_PER_ORDER = float(np.dot(LINES, LINES_P) * np.dot(QTY, QTY_P))
CHANNELS = ("web", "app", "store", "call_center")
CHANNELS_P = (0.55, 0.25, 0.12, 0.08)
TIERS = ("standard", "vip")
VIP_SHARE = 0.08
PICKUP_SHARE = 0.10
SAME_DAY_SHARE = 0.07
SHIP_COMPLETE_SHARE = 0.03
NO_PARTIAL_SHARE = 0.03
MAX_SPLITS_SHARE = 0.05
METHOD_NAMES = ("ship", "pickup", "same_day")
M = TypeVar("M", bound=BaseModel)
RULES = Rules(
    last_unit_protection={"store": 1}, exempt_tiers=("vip",), tier_weights={"vip": 2.0}
)


# -- helpers ------------------------------------------------------------------------


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many small objects.

    Each young-generation pass rescans the growing list of new models; pausing it
    makes building a million frozen models about three times faster.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _constructor(cls: type[M]) -> Callable[..., M]:
    """``cls.model_construct`` with one fields-set shared by every record it builds.

    A set per record doubled the time and memory of building "large"'s stock; the
    models are frozen and pydantic copies the set before any change (model_copy).
    """
    return partial(cls.model_construct, set(cls.model_fields))


def _require(ok: bool | np.bool_, what: str) -> None:
    """Guard the generators' own invariants before skipping pydantic validation."""
    if not ok:
        msg = f"samples: generated data breaks its invariant: {what}."
        raise RuntimeError(msg)


def zipf_weights(n: int) -> np.ndarray:
    """Probabilities ``float64[n]`` proportional to ``1 / (rank + 1) ** ZIPF_EXPONENT``."""
    w: np.ndarray = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** ZIPF_EXPONENT
    w /= w.sum()
    return w


def _draw(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """``size`` indices drawn with probabilities ``p`` (inverse CDF; fast for large p)."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return np.searchsorted(cdf, rng.random(size), side="right").astype(np.int64)


def _ids(prefix: str, n: int, width: int = 0) -> list[str]:
    width = max(width, len(str(max(n - 1, 0))))
    return [f"{prefix}{i:0{width}d}" for i in range(n)]


def _jitter(
    rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, sd_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Points moved by a normal offset of ``sd_deg`` (east-west scaled by latitude)."""
    d_lat = rng.normal(0.0, sd_deg, lat.shape)
    d_lon = rng.normal(0.0, sd_deg, lon.shape) / np.cos(np.radians(lat))
    return (
        np.round(np.clip(lat + d_lat, -90.0, 90.0), 4),
        np.round(np.clip(lon + d_lon, -180.0, 180.0), 4),
    )


def _pick(
    rng: np.random.Generator, n: int, share: float, minimum: int = 1
) -> np.ndarray:
    """A bool mask with exactly ``max(minimum, round(share * n))`` of ``n`` set."""
    k = min(n, max(minimum, round(share * n)))
    mask = np.zeros(n, dtype=np.bool_)
    mask[rng.permutation(n)[:k]] = True
    return mask


# -- network ------------------------------------------------------------------------


def _nodes(spec: Spec, rng: np.random.Generator) -> list[Node]:
    fc, city = fulfillment_centres(), cities()
    wh = spread_centres(spec.n_warehouses)
    n_w, n_s = len(wh), spec.n_stores
    if spec.store_per_city:
        site = np.arange(len(city.names))[:n_s]
        s_lat, s_lon = city.lat[site], city.lon[site]
    else:
        site = _draw(rng, city.weight / city.weight.sum(), n_s)
        s_lat, s_lon = _jitter(rng, city.lat[site], city.lon[site], STORE_JITTER_DEG)
    w_handling = np.round(rng.uniform(0.8, 1.5, n_w), 2)
    w_unit = np.round(rng.uniform(0.2, 0.4, n_w), 2)
    s_handling = np.round(rng.uniform(2.0, 4.0, n_s), 2)
    s_unit = np.round(rng.uniform(0.8, 1.5, n_s), 2)
    ships, pickup, same_day = (_pick(rng, n_s, share) for share in (0.85, 0.6, 0.3))
    ships |= ~(pickup | same_day)  # every store offers at least one method
    restricted = _pick(rng, n_s, 0.05)
    capped = _pick(rng, n_s, 0.10)
    s_capacity = rng.integers(5, 31, n_s)
    s_priority = np.where(_pick(rng, n_s, 0.2, minimum=0), 2, 1)
    # The busiest networks get one warehouse with a capacity of half its daily share.
    w_capacity: list[int | None] = [None] * n_w
    if n_w >= 6:
        w_capacity[-1] = round(0.5 * spec.daily_orders * UNITS_PER_ORDER / n_w)

    construct = _constructor(Node)
    nodes = [
        construct(
            id=f"W-{fc.names[i]}",
            kind="warehouse",
            lat=float(fc.lat[i]),
            lon=float(fc.lon[i]),
            methods=("ship",),
            channels=(),
            capacity=w_capacity[j],
            handling_cost=float(w_handling[j]),
            unit_cost=float(w_unit[j]),
            priority=0,
        )
        for j, i in enumerate(wh)
    ]
    flags = np.stack((ships, pickup, same_day), axis=1).tolist()
    for j, store_id in enumerate(_ids("S-", n_s, width=4)):
        methods = tuple(m for m, on in zip(METHOD_NAMES, flags[j], strict=True) if on)
        nodes.append(
            construct(
                id=store_id,
                kind="store",
                lat=float(s_lat[j]),
                lon=float(s_lon[j]),
                methods=methods,
                channels=("app", "store") if restricted[j] else (),
                capacity=int(s_capacity[j]) if capped[j] else None,
                handling_cost=float(s_handling[j]),
                unit_cost=float(s_unit[j]),
                priority=int(s_priority[j]),
            )
        )
    return nodes


def _stock(
    spec: Spec, n_w: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stock rows (node_idx, sku_idx, on_hand, reserved, safety), sorted by node, SKU."""
    n_s, n_k = spec.n_stores, spec.n_skus
    p = zipf_weights(n_k)
    rank = np.arange(n_k)
    # Warehouses carry every top-5% SKU and about half of the rest, the popular more often.
    carry_p = np.where(rank < 0.05 * n_k, 1.0, 0.3 + 0.7 * (1.0 - rank / n_k) ** 2)
    carry = rng.random((n_w, n_k)) < carry_p
    orphan = np.flatnonzero(~carry.any(axis=0))
    carry[rng.integers(0, n_w, orphan.size), orphan] = True
    w_node, w_sku = np.nonzero(carry)
    carriers = carry.sum(axis=0)
    daily_units = spec.daily_orders * UNITS_PER_ORDER * p
    w_qty = np.ceil(
        WAREHOUSE_COVER_DAYS
        * daily_units[w_sku]
        / carriers[w_sku]
        * rng.uniform(0.5, 1.5, w_sku.size)
    ).astype(np.int64) + rng.integers(0, 3, w_sku.size)

    # Store assortments: sequential draws with repeats dropped (= sampling without
    # replacement in proportion to popularity ** STORE_TEMPER), vectorised.
    draws = _draw(rng, p**STORE_TEMPER / (p**STORE_TEMPER).sum(), n_s * spec.store_skus)
    store = np.repeat(np.arange(n_s, dtype=np.int64), spec.store_skus)
    codes = store * n_k + draws
    _, first = np.unique(codes, return_index=True)
    keep = np.zeros(codes.size, dtype=np.bool_)
    keep[first] = True
    codes = np.sort(codes[keep])
    s_node, s_sku = codes // n_k, codes % n_k
    lam = 0.5 + 3.0 * (p[s_sku] / p[0]) ** 0.3
    s_qty = np.minimum(1 + rng.poisson(lam), 9)

    node = np.concatenate((w_node.astype(np.int64), n_w + s_node))
    sku = np.concatenate((w_sku.astype(np.int64), s_sku))
    on_hand = np.concatenate((w_qty, s_qty)).astype(np.int64)
    is_store = node >= n_w
    reserved = np.where(rng.random(node.size) < 0.08, rng.binomial(on_hand, 0.3), 0)
    safety = np.where(
        is_store,
        (rng.random(node.size) < 0.03).astype(np.int64),
        np.where(rng.random(node.size) < 0.10, rng.integers(1, 6, node.size), 0),
    )
    _require(bool((on_hand >= 1).all()), "on_hand >= 1")
    _require(
        bool(((reserved >= 0) & (reserved <= on_hand)).all()),
        "0 <= reserved <= on_hand",
    )
    _require(bool((safety >= 0).all()), "safety_stock >= 0")
    return node, sku, on_hand, reserved.astype(np.int64), safety.astype(np.int64)


def build_network(name: str, seed: int) -> Scenario:
    """The sample network ``name`` (a key of :data:`SPECS`) for ``seed``; no orders."""
    spec = SPECS[name]
    rng = np.random.default_rng(seed)
    nodes = _nodes(spec, rng)
    n_w = sum(n.kind == "warehouse" for n in nodes)
    node, sku, on_hand, reserved, safety = _stock(spec, n_w, rng)
    node_ids = [n.id for n in nodes]
    sku_ids = _ids("SKU-", spec.n_skus)
    construct = _constructor(StockRecord)
    with _gc_paused():
        stock = tuple(
            construct(
                node=node_ids[i], sku=sku_ids[k], on_hand=q, reserved=r, safety_stock=s
            )
            for i, k, q, r, s in zip(
                node.tolist(),
                sku.tolist(),
                on_hand.tolist(),
                reserved.tolist(),
                safety.tolist(),
                strict=True,
            )
        )
        return Scenario.model_validate(
            {"nodes": tuple(nodes), "stock": stock, "rules": RULES, "costs": Costs()}
        )


# -- orders -------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderDraw:
    """A batch of orders as arrays (positions into ``node_ids`` and ``sku_ids``)."""

    order_ids: list[str]
    node_ids: list[str]
    sku_ids: list[str]
    line_indptr: np.ndarray  # int64[n + 1]
    line_sku: np.ndarray  # int64[n_lines]
    line_qty: np.ndarray  # int64[n_lines]
    channel: np.ndarray  # int64[n], into CHANNELS
    tier: np.ndarray  # int64[n], into TIERS
    method: np.ndarray  # int64[n], into METHOD_NAMES
    pickup: np.ndarray  # int64[n], node position or -1
    lat: np.ndarray  # float64[n], nan for pickup orders
    lon: np.ndarray  # float64[n]
    ship_complete: np.ndarray  # bool[n]
    allow_partial: np.ndarray  # bool[n]
    max_splits: np.ndarray  # int64[n], 0 = not set


def _distinct_skus(
    rng: np.random.Generator, p: np.ndarray, line_order: np.ndarray
) -> np.ndarray:
    """One SKU per line drawn by ``p``, redrawn until no order repeats a SKU."""
    sku = _draw(rng, p, line_order.size)
    for _ in range(1000):
        codes = line_order * p.size + sku
        _, first = np.unique(codes, return_index=True)
        repeat = np.ones(codes.size, dtype=np.bool_)
        repeat[first] = False
        if not repeat.any():
            return sku
        sku[repeat] = _draw(rng, p, int(repeat.sum()))
    msg = "samples: could not draw distinct SKUs per order."
    raise RuntimeError(msg)


def draw_orders(network: Scenario, n: int, seed: int) -> OrderDraw:
    """Draw ``n`` orders for ``network`` as arrays (see :func:`omnistock.samples.orders`)."""
    if n < 0:
        detail = f"n must be >= 0. Got n={n!r}."
        raise InvalidArgument(function="samples.orders", argument="n", detail=detail)
    sku_ids = sorted({r.sku for r in network.stock})
    if not sku_ids:
        detail = "the network stocks no SKU, so there is nothing to order."
        raise InvalidArgument(
            function="samples.orders", argument="network", detail=detail
        )
    node_ids = [node.id for node in network.nodes]
    pickup_nodes = np.array(
        [i for i, nd in enumerate(network.nodes) if "pickup" in nd.methods]
    )
    same_day_nodes = np.array(
        [i for i, nd in enumerate(network.nodes) if "same_day" in nd.methods]
    )
    node_lat = np.array([nd.lat for nd in network.nodes])
    node_lon = np.array([nd.lon for nd in network.nodes])
    rng = np.random.default_rng(seed)
    city = cities()

    # Every draw has a fixed size, whatever the network offers: stable streams.
    n_lines = np.minimum(rng.choice(np.array(LINES), n, p=LINES_P), len(sku_ids))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_lines, out=indptr[1:])
    line_order = np.repeat(np.arange(n, dtype=np.int64), n_lines)
    line_sku = _distinct_skus(rng, zipf_weights(len(sku_ids)), line_order)
    line_qty = rng.choice(np.array(QTY, dtype=np.int64), line_order.size, p=QTY_P)
    channel = rng.choice(len(CHANNELS), n, p=CHANNELS_P).astype(np.int64)
    tier = (rng.random(n) < VIP_SHARE).astype(np.int64)
    u = rng.random(n)
    method = np.zeros(n, dtype=np.int64)
    if pickup_nodes.size:
        method[u < PICKUP_SHARE] = 1
    if same_day_nodes.size:
        method[(u >= PICKUP_SHARE) & (u < PICKUP_SHARE + SAME_DAY_SHARE)] = 2
    site = _draw(rng, city.weight / city.weight.sum(), n)
    lat, lon = _jitter(rng, city.lat[site], city.lon[site], CUSTOMER_JITTER_DEG)
    pick = rng.integers(0, max(pickup_nodes.size, 1), n)
    near = rng.integers(0, max(same_day_nodes.size, 1), n)
    pickup = np.full(n, -1, dtype=np.int64)
    is_pickup, is_same_day = method == 1, method == 2
    if pickup_nodes.size:
        pickup[is_pickup] = pickup_nodes[pick[is_pickup]]
    if same_day_nodes.size:
        store = same_day_nodes[near[is_same_day]]
        sd_lat, sd_lon = _jitter(
            rng, node_lat[store], node_lon[store], SAME_DAY_JITTER_DEG
        )
        lat[is_same_day], lon[is_same_day] = sd_lat, sd_lon
    lat[is_pickup] = np.nan
    lon[is_pickup] = np.nan
    r = rng.random(n)
    ship_complete = r < SHIP_COMPLETE_SHARE
    allow_partial = ~(
        (r >= SHIP_COMPLETE_SHARE) & (r < SHIP_COMPLETE_SHARE + NO_PARTIAL_SHARE)
    )
    low = SHIP_COMPLETE_SHARE + NO_PARTIAL_SHARE
    max_splits = np.where(
        (r >= low) & (r < low + MAX_SPLITS_SHARE), rng.integers(1, 3, n), 0
    )
    _require(bool((line_qty > 0).all()), "qty > 0")
    _require(bool((n_lines >= 1).all()), "every order has a line")
    return OrderDraw(
        order_ids=_ids("O-", n, width=6),
        node_ids=node_ids,
        sku_ids=sku_ids,
        line_indptr=indptr,
        line_sku=line_sku,
        line_qty=line_qty.astype(np.int64),
        channel=channel,
        tier=tier,
        method=method,
        pickup=pickup,
        lat=lat,
        lon=lon,
        ship_complete=ship_complete,
        allow_partial=allow_partial,
        max_splits=max_splits.astype(np.int64),
    )


def build_orders(draw: OrderDraw) -> list[Order]:
    """The pydantic orders of a draw."""
    make_line, make_loc = _constructor(OrderLine), _constructor(Location)
    make_order = _constructor(Order)
    sku_ids, node_ids = draw.sku_ids, draw.node_ids
    ptr, channel, tier = (
        draw.line_indptr.tolist(),
        draw.channel.tolist(),
        draw.tier.tolist(),
    )
    method, pickup = draw.method.tolist(), draw.pickup.tolist()
    lat, lon = draw.lat.tolist(), draw.lon.tolist()
    complete, partial = draw.ship_complete.tolist(), draw.allow_partial.tolist()
    splits = draw.max_splits.tolist()
    with _gc_paused():
        lines = [
            make_line(sku=sku_ids[k], qty=q)
            for k, q in zip(draw.line_sku.tolist(), draw.line_qty.tolist(), strict=True)
        ]
        return [
            make_order(
                id=order_id,
                channel=CHANNELS[channel[i]],
                method=METHOD_NAMES[method[i]],
                tier=TIERS[tier[i]],
                destination=None
                if method[i] == 1
                else make_loc(lat=lat[i], lon=lon[i]),
                pickup_node=node_ids[pickup[i]] if method[i] == 1 else None,
                ship_complete=complete[i],
                allow_partial=partial[i],
                max_splits=splits[i] or None,
                lines=tuple(lines[ptr[i] : ptr[i + 1]]),
            )
            for i, order_id in enumerate(draw.order_ids)
        ]
