"""Sourcer: the exact per-order decision an order service asks for, thread-safe.

Build it once from a scenario (nodes, stock, rules, costs; its orders are ignored),
then for each arriving order call :meth:`Sourcer.source` (decide, stock unchanged)
and :meth:`Sourcer.commit` (apply, re-checked under a lock). The decision is the
same one ``solve(..., solver="greedy")`` makes for that order against the same stock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from omnistock._kernels import candidates, sourcing
from omnistock._kernels.codes import POLICY_GREEDY
from omnistock._kernels.cost import unfilled_cost
from omnistock._kernels.records import (
    NetworkRecord,
    Request,
    StateRecord,
    entry_point,
)
from omnistock.compiled import (
    METHOD_CODES,
    CompiledNetwork,
    compile_network,
)
from omnistock.compiled.lockers import locker_index, parcel_limit
from omnistock.compiled.orders import order_inputs
from omnistock.compiled.rates import line_weights, order_rates
from omnistock.exceptions import (
    DecisionError,
    InsufficientStock,
    InvalidRequest,
    KeyConflict,
    ScenarioError,
)
from omnistock.model.orders import Order
from omnistock.model.scenario import Scenario
from omnistock.pool.rows import adopt_rows, extends_rows, weak_callback
from omnistock.sourcer.decision import Decision
from omnistock.sourcer.nested import pool_stock, take_all_nested, tier_view
from omnistock.sourcer.parcels import decision_locker, take_parcels
from omnistock.sourcer.state import SourcingState

if TYPE_CHECKING:
    from omnistock.pool.pool import StockPool
    from omnistock.pool.reservation import Reservation

__all__ = ["Decision", "Sourcer", "SourcingState"]

_Arrays = tuple[np.ndarray, ...]
# The kernels' signatures as the Sourcer calls them (records.entry_point).
_DestXyz = Callable[[np.ndarray, int, float, float], np.ndarray]
_DecideOrder = Callable[[NetworkRecord, StateRecord, Request, int], _Arrays]
_Snapshot = Callable[[NetworkRecord, StateRecord, np.ndarray], _Arrays]


#: The weights of a v1 order's lines: never read (docs/decisions.md, "rate cards").
_NO_WEIGHT = np.zeros(0)


class Sourcer:
    """Per-order sourcing for an order service: ``source`` then ``commit``.

    Parameters
    ----------
    scenario
        Nodes, stock, rules and costs; compiled once. Its orders are ignored.
    pool
        A live :class:`~omnistock.StockPool` of the same network: decisions read its
        counters (stock and node capacity, which its release and expiry give back)
        and :meth:`commit` reserves through it. None: the Sourcer keeps its own
        counters, starting at the scenario's stock.

    Examples
    --------
    >>> from omnistock import Sourcer, samples
    >>> network = samples.network("small", seed=1)
    >>> order = samples.orders(network, 1, seed=1)[0]
    >>> sourcer = Sourcer(network)
    >>> decision = sourcer.source(order)
    >>> sourcer.commit(decision)
    >>> decision.committed, int(decision.qty.sum()) == sum(l.qty for l in order.lines)
    (True, True)
    >>> frame = decision.explain()  # one row per node: reason, km, usable, chosen
    >>> int(frame["chosen"].sum()) == len(set(decision.node_idx.tolist()))
    True

    Notes
    -----
    :meth:`source` reads the counters without the lock (many threads decide at
    once; the kernels release the GIL), so a decision may be stale by the time it is
    committed; :meth:`commit` re-checks every take under the lock and raises
    :class:`~omnistock.InsufficientStock` without changing anything when one no
    longer fits.
    """

    def __init__(self, scenario: Scenario, *, pool: StockPool | None = None) -> None:
        network = compile_network(scenario)
        self.pool = pool
        #: Decisions sourced again because the stock had gone meanwhile (a
        #: metric: on a shared PostgreSQL pool, decisions on a stale local copy).
        self.stale_retries = 0
        #: The network and the counters, swapped together when the pool adds a
        #: stock row (a return to a store that never held the SKU): a decision
        #: reads both from this one tuple, so it never mixes old and new rows.
        self._live: tuple[CompiledNetwork, SourcingState]
        if pool is None:
            self._live = (network, SourcingState.from_network(network))
        else:
            # Decide on the pool's live counters, under the pool's lock: the pool
            # keeps stock (and its live protection) and node capacity, so a
            # release or an expiry gives both back.
            with pool.lock:  # no row is added while the Sourcer adopts them
                if pool.free_left.shape != network.stock_free.shape:
                    # A pool that added rows (returns) since it was built from
                    # the same network: decide on its rows.
                    if not extends_rows(pool.network, network):
                        msg = (
                            f"Sourcer: the pool has {pool.free_left.shape[0]} stock "
                            f"rows, the scenario {network.stock_free.shape[0]}: build "
                            "both from the same network."
                        )
                        raise ScenarioError(msg)
                    network = adopt_rows(network, pool.network)
                elif pool.network.protection != network.protection:
                    network = adopt_rows(network, pool.network)  # set_protection
                state = SourcingState(pool_stock(pool), lock=pool.lock)
                self._live = (network, state)
                pool.on_grow(weak_callback(self, Sourcer._follow_pool))
        # The hot path calls the kernels' compiled functions for the records'
        # types (records.entry_point); loading them now also keeps the first
        # order from paying for it.
        self._dest_xyz: _DestXyz = entry_point(
            candidates.destination_xyz, self.network.node_xyz, -1, 0.0, 0.0
        )
        empty = np.empty(0, dtype=np.int64)
        request = self._request(empty, empty, 0, METHOD_CODES["ship"], -1, 0.0, 0.0)
        net, stock = self.network.record, self.state.stock.record
        self._decide_order: _DecideOrder = entry_point(
            sourcing.decide_order, net, stock, request, POLICY_GREEDY
        )
        self._snapshot: _Snapshot = entry_point(
            sourcing.snapshot_rows, net, stock, empty
        )
        self.state.take_all(empty, empty, empty, False)

    @property
    def network(self) -> CompiledNetwork:
        """The compiled network decisions are made on (with the pool's stock rows)."""
        return self._live[0]

    @property
    def state(self) -> SourcingState:
        """The counters decisions read (the pool's live arrays on a pool)."""
        return self._live[1]

    def _follow_pool(self) -> None:
        """Adopt the pool's stock rows and counters after it added a row."""
        pool = self.pool
        assert pool is not None
        network = adopt_rows(self.network, pool.network)
        state = SourcingState(pool_stock(pool), lock=pool.lock)
        self._live = (network, state)

    def _request(
        self,
        line_sku: np.ndarray,
        line_qty: np.ndarray,
        channel: int,
        method: int,
        pickup: int,
        lat: float,
        lon: float,
        *,
        exempt: bool = False,
        penalty: float = 1.0,
        split_limit: int = 1,
        all_or_nothing: bool = False,
        line_weight: np.ndarray | None = None,
        charge: float = 0.0,
    ) -> Request:
        """The kernels' :class:`Request` of one order.

        The compiled entry points unbox by the types they were resolved for: the
        annotated Python types (ints, floats, bools), which the callers give.
        """
        net = self.network
        return Request(
            line_sku,
            line_qty,
            channel,
            method,
            pickup,
            self._dest_xyz(net.node_xyz, pickup, lat, lon),
            exempt,
            penalty,
            split_limit,
            all_or_nothing,
            net.node_unit_cost,
            # Only the v1.1 path reads the weights: a v1 order shares one empty array.
            (
                _NO_WEIGHT
                if charge == 0.0 and not net.rated
                else np.zeros(line_sku.shape[0])
            )
            if line_weight is None
            else line_weight,
            charge,
        )

    def source(self, order: Order | Mapping[str, Any]) -> Decision:
        """The cheapest decision for ``order`` against the stock now; stock is unchanged.

        ``order`` is an :class:`~omnistock.Order` or its JSON form (validated).

        Raises
        ------
        ScenarioError
            When the order's pickup node is not a node of the network.
        """
        if not isinstance(order, Order):
            order = Order.model_validate(order)
        net, state = self._live
        line_sku = np.array(
            [net.sku_index.get(line.sku, -1) for line in order.lines], dtype=np.int64
        )
        line_qty = np.array([line.qty for line in order.lines], dtype=np.int64)
        inputs = order_inputs(net, order)
        if order.method == "pickup" and inputs.pickup < 0:
            msg = f"order {order.id!r}: pickup_node {order.pickup_node!r} is not a node. Got {order.pickup_node!r}."
            raise ScenarioError(msg)
        split_limit = inputs.split_limit
        if inputs.pickup >= 0 and (locker := locker_index(net, inputs.pickup)) >= 0:
            split_limit = parcel_limit(
                net, state.stock.capacity, locker, split_limit,
                pooled=self.pool is not None, order_id=order.id,
            )  # fmt: skip
        lat = lon = math.nan
        unfilled, unfilled_order = order_rates(net.unfilled, net.unfilled_order, order)
        charge = unfilled_cost(unfilled_order, inputs.weight, 1)
        if inputs.pickup < 0 and order.destination is not None:
            lat, lon = order.destination.lat, order.destination.lon
        request = self._request(
            line_sku,
            line_qty,
            inputs.channel,
            inputs.method,
            inputs.pickup,
            lat,
            lon,
            exempt=inputs.exempt,
            penalty=unfilled_cost(unfilled, inputs.weight, 1),
            split_limit=split_limit,
            all_or_nothing=inputs.all_or_nothing,
            line_weight=line_weights(net.sku_weight, (order,))
            if net.sku_weight and (net.rated or charge > 0.0)
            else None,
            charge=charge,
        )
        stock = state.stock
        if net.levels.nested:  # v1.2: decide on the tier's view (nested_sourcing)
            request = request._replace(exempt=False)
            stock = tier_view(net, stock, line_sku, order.tier)
        arrays = self._decide_order(net.record, stock.record, request, POLICY_GREEDY)
        snap = self._snapshot(net.record, stock.record, line_sku)
        state_copy = (*snap, stock.capacity.copy())
        decision = Decision(self, order, request, arrays, state_copy, net)
        if net.levels.nested:  # decided as non-exempt on its view; its tier's flag
            decision.exempt = order.tier in net.exempt_tiers
        return decision

    def commit(
        self, decision: Decision, *, key: str | None = None, ttl: float | None = None
    ) -> Reservation | None:
        """Take the decision's units from the stock, or raise and change nothing.

        With a pool (``Sourcer(scenario, pool=pool)``) the units are reserved
        through :meth:`StockPool.reserve` (``key`` and ``ttl`` pass on to it) and
        the reservation is returned (None when the decision allocates nothing), to
        be committed (shipped), released or left to expire in the pool; without a
        pool, the Sourcer's own counters fall and None is returned.

        ``key`` is checked first: a retry under a key the pool already holds for
        this order returns that reservation and takes nothing, whatever the new
        decision says (it was sourced against the stock the first try took).

        Raises
        ------
        InsufficientStock
            When a take no longer fits (another commit took the units, or the
            node's capacity, since the decision was made).
        DecisionError
            When the decision was already committed or comes from another Sourcer.
        KeyConflict
            When ``key`` names a reservation of another order or tier.
        """
        if decision._sourcer is not self:
            raise DecisionError(decision.order.id, "it was made by another Sourcer")
        if self.pool is not None:
            return self._reserve(decision, key, ttl)
        net = self.network
        with self.state.lock:
            if decision.committed:
                raise DecisionError(decision.order.id, "it was already committed")
            capacity = self.state.stock.capacity
            locker = take_parcels(self.network, capacity, decision)
            if net.levels.nested:
                bad, avail, what = take_all_nested(self.state, decision, net)
            else:
                bad, avail, what = self.state.take_all(
                    decision.row_idx, decision.node_idx, decision.qty, decision.exempt
                )
            if bad < 0:
                if locker >= 0:  # S11: one parcel a package
                    capacity[locker] -= np.unique(decision.node_idx).size
                decision.committed = True
                return None
        line = decision.order.lines[int(decision.line_idx[bad])]
        node_id = str(self.network.node_ids[decision.node_idx[bad]])
        detail = (
            "(node capacity left)" if what == 1 else "(free units this tier may take)"
        )
        raise InsufficientStock(
            node_id, line.sku, int(decision.qty[bad]), avail, detail
        )

    def _reserve(
        self, decision: Decision, key: str | None, ttl: float | None
    ) -> Reservation | None:
        """Commit through the pool, which checks stock and capacity atomically."""
        pool = self.pool
        assert pool is not None
        with pool.lock:  # re-entrant: pool.reserve takes it again
            if decision.committed:
                raise DecisionError(decision.order.id, "it was already committed")
            prior = self._keyed(decision.order.id, decision.exempt, key)
            if prior is not None:
                decision.committed = True
                return prior
            if decision.qty.size == 0:  # nothing to hold: every unit is unfilled
                decision.committed = True
                return None
            # The pool checks and takes the stock and the node capacity (and
            # gives both back on release or expiry), all lines or none.
            reservation = pool.reserve(
                decision.order.id,
                decision.allocations.select("node_id", "sku", "qty"),
                key=key,
                ttl=ttl,
                exempt=decision.exempt,
                # v1.2: the tier sets what the pool lets the order take
                tier=decision.order.tier if self.network.levels.nested else None,
                locker=decision_locker(self.network, decision),
            )
            decision.committed = True
            return reservation

    def amend(
        self,
        reservation_id: int,
        order: Order | Mapping[str, Any],
        *,
        key: str | None = None,
    ) -> tuple[Decision, Reservation]:
        """Source the amended ``order`` and replace its reservation, in one step.

        Under the pool's lock, the order is sourced as if its reservation were
        released (its own units count as free; no other request can take them
        in between), then :meth:`StockPool.amend` replaces the reservation with
        the decision's lines. The decision's ``explain()`` marks the units kept
        on the same node and those moved. ``key`` makes it idempotent: a retry
        returns the amendment made under it.

        Raises
        ------
        InsufficientStock
            The amended order cannot be served in full; the old reservation
            stands unchanged.
        InvalidRequest
            No pool, another order's reservation, or a tier of other exemption.
        ReservationClosed, UnknownReservation, KeyConflict
            As for :meth:`StockPool.amend`.
        """
        pool = self.pool
        if pool is None:
            msg = "Sourcer.amend needs a Sourcer on a StockPool."
            raise InvalidRequest(msg)
        if not isinstance(order, Order):
            order = Order.model_validate(order)
        with pool.lock:
            prior = None if key is None else pool.keyed(key)
            if prior is not None:
                if (prior.amends, prior.order_id) != (reservation_id, order.id):
                    raise KeyConflict(key or "", prior.reservation_id, "amendment")
                decision = self.source(order)  # a retry: nothing is taken again
                decision.committed = True
                return decision, prior
            with pool.as_if_released(reservation_id) as old:
                if old.order_id != order.id:
                    msg = (
                        f"Sourcer.amend: reservation {old.reservation_id} holds order "
                        f"{old.order_id!r}, not {order.id!r}."
                    )
                    raise InvalidRequest(msg)
                decision = self.source(order)
            if decision.exempt != old.exempt:
                msg = (
                    f"Sourcer.amend: order {order.id!r}: tier {order.tier!r} changes "
                    "the reservation's protection exemption."
                )
                raise InvalidRequest(msg)
            short = decision.unfilled
            if short.height:
                _, sku, qty = short.row(0)
                where = "(any node)"
                raise InsufficientStock(
                    where, sku, qty, 0,
                    f"order {order.id!r} cannot be served in full; reservation "
                    f"{old.reservation_id} stands unchanged.",
                )  # fmt: skip
            lines = decision.allocations.select("node_id", "sku", "qty")
            locker = decision_locker(self.network, decision)
            reservation = pool.amend(old.reservation_id, lines, key=key, locker=locker)
            decision.amended = old.lines
            decision.committed = True
            return decision, reservation

    def _keyed(
        self, order_id: str, exempt: bool, key: str | None
    ) -> Reservation | None:
        """The pool's reservation under ``key`` for this order (a retry), else None."""
        if key is None or self.pool is None:
            return None
        prior = self.pool.keyed(key)
        if prior is None:
            return None
        if (prior.order_id, prior.exempt) != (order_id, exempt):
            raise KeyConflict(key, prior.reservation_id, "order or tier")
        return prior

    def source_and_commit(self, order: Order, *, retries: int = 3) -> Decision:
        """Source and commit, re-sourcing when a concurrent commit took the units first.

        Each retry counts in :attr:`stale_retries` and first refreshes the
        pool's counters (:meth:`StockPool.refresh`: on a shared PostgreSQL pool
        the decision was made on a local copy other replicas had overtaken).

        Raises
        ------
        InsufficientStock
            When the last of ``retries + 1`` attempts still conflicts.
        """
        for attempt in range(retries + 1):
            decision = self.source(order)
            try:
                self.commit(decision)
            except InsufficientStock:
                if attempt == retries:
                    raise
                self.stale_retries += 1
                if self.pool is not None:  # a shared pool: read what others took
                    self.pool.refresh()
            else:
                return decision
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def __repr__(self) -> str:
        net = self.network
        return f"Sourcer(nodes={net.n_nodes}, skus={net.n_skus}, stock_rows={net.stock_node.shape[0]})"
