"""Rebuild a pool's exact state from a snapshot (or its scenario) and a journal.

Recovery works on a :class:`~omnistock.pool.state.PoolState` no one else sees
yet: the snapshot's counters are loaded and their invariants verified, then the
journal records after it are checked field by field as the API checks its
arguments and replayed through the same checks and updates as the live
operations (``PoolState.check_*`` / ``apply_*``), so a replayed state is the
state that was acknowledged. Anything that does not fit is a
:class:`~omnistock.exceptions.JournalError`, never a raw exception.
"""

from __future__ import annotations

import heapq
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from omnistock.compiled import CompiledNetwork, compile_network
from omnistock.exceptions import InvalidRequest, JournalError
from omnistock.model.scenario import Scenario
from omnistock.pool.availability import stock_frame
from omnistock.pool.journal import Journal
from omnistock.pool.parcels import at_locker
from omnistock.pool.protecting import apply_protection, check_table
from omnistock.pool.reservation import (
    ACTIVE,
    COMMITTED,
    EXPIRED,
    RELEASED,
    STATUS_NAMES,
    Reservation,
    check_capacity,
    check_delta,
    check_exempt,
    check_text,
    check_time,
    normalise_lines,
)
from omnistock.pool.snapshot import SCHEMAS, Snapshot, read_snapshot
from omnistock.pool.state import PoolState

__all__ = ["StateCopy", "copy_state", "recover_state", "replay", "snapshot_of"]


@dataclass(frozen=True)
class StateCopy:
    """What a snapshot needs of a pool, copied under its lock (built into frames outside)."""

    network: CompiledNetwork
    counters: dict[str, np.ndarray]
    capacity: np.ndarray
    reservations: list[tuple[Reservation, bool]]
    status: bytes
    seq: int


def copy_state(state: PoolState) -> StateCopy:
    """Copy ``state`` (the caller holds the pool's lock)."""
    counters = {k: a.copy() for k, a in state.columns().items() if k != "free"}
    counters["held"] = state.held.copy()
    return StateCopy(
        state.network,
        counters,
        state.stock.capacity.copy(),
        state.kept(),
        bytes(state.status),
        state.seq,
    )


def snapshot_of(
    copy: StateCopy, network_json: str, crc: int, journal: str | None
) -> Snapshot:
    """The :class:`Snapshot` of a state copy."""
    net = copy.network
    lines = [
        (
            r.reservation_id,
            r.order_id,
            r.key,
            r.deadline,
            r.exempt,
            issued,
            r.amends,
            i,
            *line,
            r.tier,
            r.locker,
            line[0] in r.parcels,
        )
        for r, issued in copy.reservations
        for i, line in enumerate(r.lines)
    ]
    frames = {
        "stock": stock_frame(net, copy.counters),
        "nodes": pl.DataFrame(
            {"node_id": net.node_ids.tolist(), "capacity": copy.capacity},
            schema=SCHEMAS["nodes"],
        ),
        "reservations": pl.DataFrame(
            lines, schema=SCHEMAS["reservations"], orient="row"
        ),
        "status": pl.DataFrame(
            {"status": np.frombuffer(copy.status, dtype=np.uint8)},
            schema=SCHEMAS["status"],
        ),
    }
    return Snapshot(network_json, frames, copy.seq, crc, journal)


def _network_from_snapshot(
    base: Scenario, stock: pl.DataFrame, where: object
) -> CompiledNetwork:
    """The compiled network of ``base`` with the snapshot's stock rows.

    The rows were written in compiled (SKU-major CSR) order, so they are read back
    as they are, with no pydantic record per row (on "large" that takes 1 s
    instead of 9 s); the order and the counters are checked instead.
    """
    net = compile_network(base)
    node_idx = (
        stock["node_id"]
        .replace_strict(net.node_index, default=-1, return_dtype=pl.Int64)
        .to_numpy()
    )
    runs = stock.select(pl.col("sku").rle()).unnest("sku")
    sku_ids = np.asarray(runs["value"].to_list(), dtype=np.str_)
    indptr = np.zeros(len(sku_ids) + 1, dtype=np.int64)
    np.cumsum(runs["len"].to_numpy(), out=indptr[1:])
    sku_of = np.repeat(np.arange(len(sku_ids)), np.diff(indptr))
    on_hand, reserved, safety = (
        stock[c].to_numpy().astype(np.int64)
        for c in ("on_hand", "reserved", "safety_stock")
    )
    node_up = np.diff(node_idx) > 0
    ordered = bool(np.all(sku_ids[1:] > sku_ids[:-1])) and bool(
        np.all(node_up | (np.diff(sku_of) > 0))
    )
    counts_ok = bool(np.all((reserved >= 0) & (reserved <= on_hand) & (safety >= 0)))
    if not (ordered and counts_ok and np.all(node_idx >= 0)):
        raise JournalError(where, "stock rows are out of order, or name unknown nodes.")
    return net.with_stock_rows(sku_ids, indptr, node_idx, on_hand, reserved, safety)


def _reservations(
    frame: pl.DataFrame, state: PoolState
) -> list[tuple[Reservation, bool]]:
    out: list[tuple[Reservation, bool]] = []
    for (rid, issued), group in frame.sort("reservation_id", "issued", "line").group_by(
        "reservation_id", "issued", maintain_order=True
    ):
        first = group.row(0, named=True)
        lines = tuple(group.select("node_id", "sku", "qty").iter_rows())
        held = group.filter("parcel")["node_id"].unique().sort().to_list()
        rows = tuple(state.row(n, s) for n, s, _ in lines)
        res = Reservation(
            int(rid),
            first["order_id"],
            lines,
            first["key"],
            first["deadline"],
            first["exempt"],
            rows,
            first["amends"],
            first["tier"],
            first["locker"],
            tuple(held),
        )
        out.append((res, bool(issued)))
    return out


def _check_invariants(
    state: PoolState, reservations: list[tuple[Reservation, bool]]
) -> str:
    """What is wrong with a restored state ("" when its invariants hold)."""
    status = state.status
    if status[0] != 0 or any(code not in STATUS_NAMES for code in status[1:]):
        return "unknown reservation status codes."
    held = state.held.copy()
    keys: set[str] = set()
    for res, issued in reservations:
        rid = res.reservation_id
        if not 0 < rid < len(status) or -1 in res.rows:
            return f"reservation {rid} does not fit the stock rows or ids."
        if issued:
            if res.key is None or res.key in keys:
                return f"reservation {rid} does not fit the keys."
            keys.add(res.key)
    for res in state.active.values():
        for row, line in zip(res.rows, res.lines, strict=True):
            held[row] += line[2]
    if len(state.active) != sum(code == ACTIVE for code in status):
        return "an active reservation is missing its lines."
    if not np.array_equal(held, state.reserved) or np.any(state.held < 0):
        return "reserved differs from the held units plus the active reservations."
    return ""


def restore(
    self: PoolState,
    counters: dict[str, np.ndarray],
    status: bytes,
    reservations: list[tuple[Reservation, bool]],
    seq: int,
) -> None:
    """Load a snapshot's counters, statuses and kept reservations into ``self``.

    ``counters`` holds ``held``, ``shipped``, ``received`` (int64[nnz]) and
    ``capacity`` (int64[n_nodes]); on_hand, reserved and safety came with
    the network the state was built from. ``reservations`` are the
    ``(value, issued)`` pairs of ``PoolState.kept``.
    """
    self.held[:] = counters["held"]
    self.shipped[:] = counters["shipped"]
    self.received[:] = counters["received"]
    self.returned[:] = counters["returned"]
    self.unsellable[:] = counters["returned_unsellable"]
    self.stock.capacity[:] = counters["capacity"]
    self.status = bytearray(status) or bytearray(1)
    for res, issued in reservations:
        if issued and res.key is not None:
            self.keys[res.key] = res
        rid = res.reservation_id
        if self.status[rid] == ACTIVE and (not issued or rid not in self.active):
            self.active[rid] = res
    for res in self.active.values():
        if res.deadline is not None:
            self.heap.append((res.deadline, res.reservation_id))
    heapq.heapify(self.heap)
    self.seq = seq


def _state_from_snapshot(snap: Snapshot, where: object) -> tuple[PoolState, Scenario]:
    base = Scenario.model_validate_json(snap.network_json)
    stock = snap.frames["stock"]
    state = PoolState(_network_from_snapshot(base, stock, where))
    capacity = snap.frames["nodes"]
    if capacity["node_id"].to_list() != state.network.node_ids.tolist():
        raise JournalError(where, "nodes.parquet does not list the network's nodes.")
    reservations = _reservations(snap.frames["reservations"], state)
    counters = {
        c: stock[c].to_numpy()
        for c in ("held", "shipped", "received", "returned", "returned_unsellable")
    }
    counters["capacity"] = capacity["capacity"].to_numpy()
    status = snap.frames["status"]["status"].to_numpy().tobytes()
    if any(not 0 < r.reservation_id < len(status) for r, _ in reservations):
        raise JournalError(where, "a reservation id has no status row.")
    restore(state, counters, status, reservations, snap.seq)
    problem = _check_invariants(state, reservations)
    if problem:
        raise JournalError(where, f"the snapshot is inconsistent: {problem}")
    return state, base


def recover_state(
    snapshot: str | os.PathLike[str] | Scenario,
    journal: str | os.PathLike[str] | None,
    sync: dict[str, Any],
) -> tuple[PoolState, Scenario, Journal]:
    """The state of a snapshot (or scenario) plus the journal after it, and the open journal.

    ``journal`` None means the journal a rolled snapshot names.
    """
    snap: Snapshot | None = None
    if not isinstance(snapshot, Scenario):
        snap = read_snapshot(snapshot)
        if journal is None:
            if snap.journal is None:
                msg = "journal: the snapshot names no journal; pass the one to replay."
                raise InvalidRequest(msg)
            journal = snap.journal
        elif snap.journal is not None and Path(journal).resolve() != Path(
            snap.journal
        ).resolve(strict=False):
            raise JournalError(
                snapshot,
                f"is continued by journal {snap.journal!r}, not {str(journal)!r}.",
            )
    elif journal is None:
        msg = "journal: pass the journal to replay on the scenario."
        raise InvalidRequest(msg)
    j = Journal(journal, **sync)
    try:
        if snap is None:
            assert isinstance(snapshot, Scenario)
            state, base = PoolState(snapshot.compiled().network), snapshot
            if j.recovered and j.recovered[0][0] != 1:
                raise JournalError(
                    j.path,
                    f"starts at record {j.recovered[0][0]}: it continues a snapshot, "
                    "recover from that snapshot.",
                )
        else:
            state, base = _state_from_snapshot(snap, snapshot)
            _check_continues(j, snap)
        replay_all(state, [rec for rec in j.recovered if rec[0] > state.seq], j.path)
    except BaseException:
        j.close()
        raise
    j.recovered, j.recovered_crcs = [], []
    return state, base.model_copy(update={"stock": (), "orders": ()}), j


def _check_continues(j: Journal, snap: Snapshot) -> None:
    """Raise unless ``j`` continues ``snap`` (same record at its seq, or right after)."""
    records = j.recovered
    if not records:  # an empty journal continues any snapshot
        j.continue_from(snap.seq)
        return
    first, last = records[0][0], records[-1][0]
    if first > snap.seq + 1 or last < snap.seq:
        raise JournalError(
            j.path,
            f"records {first}..{last} do not continue the snapshot at seq {snap.seq}.",
        )
    if first <= snap.seq and j.recovered_crcs[snap.seq - first] != snap.crc:
        raise JournalError(
            j.path,
            f"record {snap.seq} is not the one the snapshot includes: another "
            "pool's snapshot or journal.",
        )


def replay(state: PoolState, rec: list[Any]) -> None:
    """Apply one journal record ``[seq, op, *args]``, checked like the API's arguments."""
    seq, op, *args = rec
    if op == "reserve" and len(args) in (6, 7, 8):
        rid, order_id, key, deadline, exempt, lines, *named = args
        # Optional fields after the lines: the tier (v1.2; null when only a
        # locker follows), then the locker (S11).
        tier = None
        if named and named[0] is not None:
            tier = check_text(_text(named[0], "tier"), "tier")
        locker = named[1:2]
        if type(rid) is not int or rid != state.next_id:
            msg = f"reservation id {rid!r} out of order (expected {state.next_id})."
            raise InvalidRequest(msg)
        if not isinstance(order_id, str) or not (key is None or isinstance(key, str)):
            msg = f"order_id and key must be text. Got {order_id!r}, {key!r}."
            raise InvalidRequest(msg)
        check_text(order_id, "order_id")
        if key is not None:
            check_text(key, "key")
        deadline = None if deadline is None else check_time(deadline, "deadline")
        norm = normalise_lines(lines)
        exempt = check_exempt(exempt, f"reservation {rid}")
        rows = state.check_reserve(norm, exempt, tier)
        res = Reservation(rid, order_id, norm, key, deadline, exempt, rows, tier=tier)
        if locker:  # S11: a reservation at a locker holds its parcels
            res, _ = at_locker(state, res, [], None, locker[0])
        state.apply_reserve(res)
    elif op in ("commit", "release") and len(args) == 1:
        res = state.open(args[0], op)
        state.apply_close(res, COMMITTED if op == "commit" else RELEASED)
    elif op in ("commit", "release") and len(args) == 2:
        res = state.open(args[0], op)
        part = normalise_lines(args[1])
        rest = state.check_part(res, part)
        state.apply_part(res, rest, part, COMMITTED if op == "commit" else RELEASED)
    elif op == "expire" and len(args) == 2 and isinstance(args[1], list):
        check_time(args[0], "now")
        for res in [state.open(rid, "expire") for rid in args[1]]:
            state.apply_close(res, EXPIRED)
    elif op == "amend" and len(args) in (5, 6):
        old_id, rid, key, deadline, lines, *locker = args
        if type(rid) is not int or rid != state.next_id:
            msg = f"reservation id {rid!r} out of order (expected {state.next_id})."
            raise InvalidRequest(msg)
        key = None if key is None else check_text(_text(key, "key"), "key")
        deadline = None if deadline is None else check_time(deadline, "deadline")
        old = state.open(old_id, "amend")
        norm = normalise_lines(lines)
        rows = state.check_amend(old, norm)
        new = old._replace(
            reservation_id=rid,
            lines=norm,
            key=key,
            deadline=deadline,
            rows=rows,
            amends=old.reservation_id,
        )
        if old.locker is not None or locker:  # S11: the parcels (5 fields: kept)
            new, _ = at_locker(state, new, [], old, locker[0] if locker else ...)
        state.apply_amend(old, new)
    elif op == "return" and len(args) == 6:
        order_id, node_id, sku, qty, restock, reason = args
        texts = {"order_id": order_id, "node_id": node_id, "sku": sku, "reason": reason}
        for name, value in texts.items():
            check_text(_text(value, name), name)
        ((node_id, sku, qty),) = normalise_lines([(node_id, sku, qty)])
        restock = check_exempt(restock, "restock")
        row = state.check_return(node_id, sku, qty, restock)
        state.apply_return(row, node_id, sku, qty, restock)
    elif op == "protection" and len(args) == 1 and isinstance(args[0], list):
        apply_protection(state, check_table(state, [_entry(e) for e in args[0]]))
    elif op == "period" and len(args) == 1 and isinstance(args[0], dict):
        state.apply_period(check_capacity(args[0], state.network.node_index))
    elif op == "adjust" and len(args) == 4:
        node_id, sku, delta, reason = args
        if not (isinstance(node_id, str) and isinstance(sku, str)):
            msg = f"node_id and sku must be text. Got {args!r}."
            raise InvalidRequest(msg)
        delta = check_delta(delta, f"node {node_id!r}, sku {sku!r}")
        check_text(reason, "reason")
        row = state.check_adjust(node_id, check_text(sku, "sku"), delta)
        state.apply_adjust(row, delta, node_id, sku)
    else:
        msg = f"unknown operation {op!r} or wrong fields {args!r}."
        raise InvalidRequest(msg)
    state.seq = seq


def _entry(value: object) -> dict[str, object]:
    """A journaled protection entry ``[node, sku, tier, units]`` as its fields."""
    if not (isinstance(value, list) and len(value) == 4):
        msg = f"a protection entry must be [node, sku, tier, units]. Got {value!r}."
        raise InvalidRequest(msg)
    return dict(zip(("node", "sku", "tier", "units"), value, strict=True))


def _text(value: object, name: str) -> str:
    """``value`` if it is text (a record's field), else InvalidRequest."""
    if not isinstance(value, str):
        msg = f"{name} must be text. Got {value!r}."
        raise InvalidRequest(msg)
    return value


def replay_all(state: PoolState, records: list[list[Any]], path: object) -> None:
    """Replay ``records`` in order; any record that does not apply is a JournalError."""
    for rec in records:
        try:
            replay(state, rec)
        except Exception as err:  # a record is data: nothing in it may escape raw
            raise JournalError(path, f"record {rec[0]} does not apply: {err}") from err
