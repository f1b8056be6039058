"""The plain-dict model of a StockPool that tests/test_pool_stateful.py runs against.

It shares no code with the pool: each method is a direct reading of the docs
(docs/pool.md, docs/semantics.md S2, S4, S4 v1.2, S11). Contract v1.2: a
reservation of tier ``t`` may take at most ``max(0, free(r) - u_t(r))`` of row
``r``, ``free`` counting every active reservation, ``u_t(r)`` the protection
table's units for ``(r, t)`` when it lists them, else v1's rule (0 for an exempt
tier, the node kind's last unit for the others). A reservation without a tier
keeps v1's reading of its ``exempt`` flag.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from omnistock import (
    InsufficientStock,
    InvalidRequest,
    KeyConflict,
    ReservationClosed,
    Scenario,
    UnknownReservation,
    UnknownStockRow,
)
from omnistock.compiled.network import NO_LIMIT

SCENARIO = Scenario.model_validate(
    {
        "nodes": [
            {"id": "W1", "kind": "warehouse", "lat": 48.85, "lon": 2.35, "capacity": 9},
            {"id": "S1", "kind": "store", "lat": 45.76, "lon": 4.84, "capacity": 3},
            {"id": "S2", "kind": "store", "lat": 43.30, "lon": 5.37},
            {"id": "L1", "kind": "locker", "lat": 48.9, "lon": 2.4, "capacity": 1},
        ],
        "stock": [
            {"node": "W1", "sku": "A", "on_hand": 6, "safety_stock": 1},
            {"node": "W1", "sku": "B", "on_hand": 3, "reserved": 1},
            {"node": "S1", "sku": "A", "on_hand": 2},
            {"node": "S2", "sku": "B", "on_hand": 4, "safety_stock": 2},
            {"node": "S2", "sku": "C", "on_hand": 1},
        ],
        "rules": {"last_unit_protection": {"store": 1, "warehouse": 1}},
    }
)
PROTECT = {"W1": 1, "S1": 1, "S2": 1}
CAPACITY = {"W1": 9, "S1": 3, "S2": NO_LIMIT, "L1": 1}  # L1 counts parcels
NODES = list(CAPACITY)
NODE_IDS = ["W1", "S1", "S2"] * 4 + ["X9"]  # X9 is not a node (drawn 1 in 13)
SKUS = ["A", "B", "C"] * 4 + ["D"]  # D is stocked nowhere
EXEMPT_TIERS = {"vip"}  # the scenario's rules.exempt_tiers (the default)
TIERS = ["standard", "gold", "vip", "bronze"]  # bronze: in no protection table
Table = dict[tuple[str, str, str], int]  # (node, sku, tier) -> units


@dataclass
class Row:
    on_hand: int
    reserved: int
    safety: int
    protect: int
    shipped: int = 0
    received: int = 0
    returned: int = 0
    unsellable: int = 0

    def usable(self, exempt: bool) -> int:
        free = max(0, self.on_hand - self.reserved - self.safety)
        return free if exempt else max(0, free - self.protect)


@dataclass
class Res:
    order_id: str
    lines: tuple[tuple[str, str, int], ...]
    key: str | None
    deadline: float | None
    exempt: bool
    tier: str | None = None
    issued: tuple[tuple[str, str, int], ...] = ()  # the lines as reserved
    amends: int | None = None
    locker: str | None = None
    parcels: set[str] = field(default_factory=set)  # nodes whose parcel it holds


@dataclass
class Model:
    """The pool as dicts: the reading of the issue that the pool must match."""

    rows: dict[tuple[str, str], Row] = field(default_factory=dict)
    res: dict[int, Res] = field(default_factory=dict)
    status: dict[int, str] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    cap: dict[str, int] = field(default_factory=lambda: dict(CAPACITY))
    table: Table = field(default_factory=dict)

    def kept(self, node: str, sku: str, tier: str | None, exempt: bool) -> int:
        """``u_t(r)``: the units a reservation of this tier must leave in the row."""
        if tier is None:  # no tier: v1's rule on the exempt flag
            return 0 if exempt else PROTECT[node]
        if (node, sku, tier) in self.table:
            return self.table[node, sku, tier]
        return 0 if tier in EXEMPT_TIERS else PROTECT.get(node, 0)

    def usable(self, node: str, sku: str, tier: str | None, exempt: bool) -> int:
        """``max(0, free(r) - u_t(r))``; 0 without a row."""
        row = self.rows.get((node, sku))
        if row is None:
            return 0
        free = max(0, row.on_hand - row.reserved - row.safety)
        return max(0, free - self.kept(node, sku, tier, exempt))

    def set_protection(self, entries: list[tuple[str, str, str, int]]) -> Any:
        """None once the table is replaced, or InvalidRequest (nothing changed)."""
        table: Table = {}
        for node, sku, tier, units in entries:
            if node not in CAPACITY or (node, sku, tier) in table:
                return InvalidRequest
            table[node, sku, tier] = units
        self.table = table
        return None

    def reserve(
        self,
        order_id: str,
        lines: Any,
        key: Any,
        deadline: Any,
        ex: bool,
        locker: str | None = None,
        tier: str | None = None,
    ) -> Any:
        """The reservation id, or the error (type and fields) the pool must raise."""
        ex = ex if tier is None else tier in EXEMPT_TIERS  # a tier sets it
        if key is not None and key in self.keys:
            prior = self.res[self.keys[key]]
            same = (prior.order_id, sorted(prior.issued), prior.exempt, prior.tier) == (
                order_id,
                sorted(lines),
                ex,
                tier,
            ) and (prior.locker == locker)
            return self.keys[key] if same else (KeyConflict, key)
        for node, sku, _ in lines:
            if node not in PROTECT:
                return (UnknownStockRow, node, sku)
        need: dict[tuple[str, str], int] = {}
        for node, sku, qty in lines:
            need[node, sku] = need.get((node, sku), 0) + qty
        for node, sku, _ in lines:
            have = self.usable(node, sku, tier, ex)
            if need[node, sku] > have:
                return (InsufficientStock, node, sku, need[node, sku], have)
        at: dict[str, int] = {}
        for node, _, qty in lines:
            at[node] = at.get(node, 0) + qty
        for node, sku, _ in lines:
            if at[node] > self.cap[node]:
                return (InsufficientStock, node, sku, at[node], max(self.cap[node], 0))
        parcels = set() if locker is None else {node for node, _, _ in lines}
        if locker is not None and len(parcels) > self.cap[locker]:  # one a package
            left = max(self.cap[locker], 0)
            return (InsufficientStock, locker, lines[0][1], len(parcels), left)
        rid = len(self.status) + 1
        for node, sku, qty in lines:
            self.rows[node, sku].reserved += qty
            self.cap[node] -= qty
        if locker is not None:
            self.cap[locker] -= len(parcels)
        self.res[rid] = Res(
            order_id, tuple(lines), key, deadline, ex, tier, tuple(lines)
        )
        self.res[rid].locker, self.res[rid].parcels = locker, parcels
        self.status[rid] = "active"
        if key is not None:
            self.keys[key] = rid
        return rid

    def close(self, rid: int, status: str) -> None:
        self.take(rid, self.res[rid].lines, status)

    def take(self, rid: int, lines: Any, status: str) -> Any:
        """Ship or give back ``lines`` of reservation ``rid``; None, or the error."""
        held: dict[tuple[str, str], int] = {}
        for node, sku, qty in self.res[rid].lines:
            held[node, sku] = held.get((node, sku), 0) + qty
        for node, sku, qty in lines:
            held[node, sku] = held.get((node, sku), 0) - qty
            if held[node, sku] < 0:
                return InvalidRequest
        for node, sku, qty in lines:
            row = self.rows[node, sku]
            row.reserved -= qty
            if status == "committed":
                row.on_hand -= qty
                row.shipped += qty
            else:
                self.cap[node] += qty
        # What is left, line by line in the order reserved: a node-SKU's units
        # are taken from its first lines first.
        owed = held
        left = []
        for node, sku, qty in reversed(self.res[rid].lines):
            keep = min(qty, owed[node, sku])
            owed[node, sku] -= keep
            if keep:
                left.append((node, sku, keep))
        self.res[rid].lines = tuple(reversed(left))
        # Parcels: a commit uses those it ships from; a release gives back a
        # package's parcel with its last line (unless part of it shipped).
        res = self.res[rid]
        touched = {node for node, _, _ in lines}
        gone = touched if status == "committed" else touched - {n for n, _, _ in left}
        if status != "committed" and res.locker is not None:
            self.cap[res.locker] += len(res.parcels & gone)
        res.parcels -= gone
        if not left:
            self.status[rid] = status
        return None

    def amend(
        self, rid: int, lines: Any, key: Any, deadline: float | None, locker: Any = ...
    ) -> Any:
        """The new reservation's id, or the error the pool must raise."""
        if key is not None and key in self.keys:
            prior = self.res[self.keys[key]]
            same = (prior.amends, sorted(prior.issued)) == (rid, sorted(lines))
            return self.keys[key] if same else (KeyConflict, key)
        if rid not in self.status:
            return (UnknownReservation,)
        if self.status[rid] != "active":
            return (ReservationClosed,)
        old = self.res[rid]
        before = copy.deepcopy((self.rows, self.res, self.status, self.cap))
        self.take(rid, old.lines, "amended")  # its own units count as free
        locker = old.locker if locker is ... else locker
        new = self.reserve(
            old.order_id, lines, None, deadline, old.exempt, locker, old.tier
        )
        if not isinstance(new, int):
            self.rows, self.res, self.status, self.cap = before
            return new
        self.res[new].key, self.res[new].amends = key, rid
        self.res[new].deadline = old.deadline if deadline is None else deadline
        if key is not None:
            self.keys[key] = new
        return new

    def period(self, given: dict[str, int | None]) -> None:
        cap = dict(CAPACITY)
        cap.update({n: NO_LIMIT if c is None else c for n, c in given.items()})
        for rid, r in self.res.items():
            if self.status[rid] == "active":
                for node, _, qty in r.lines:
                    cap[node] -= qty
                if r.locker is not None:
                    cap[r.locker] -= len(r.parcels)
        self.cap = cap
