"""Pool snapshots and recovery: rebuild the exact state from a snapshot and a journal.

Recovery replays the journal records after the snapshot through the same checks
as the live operations (``StockPool._check_*``) and the same updates
(``StockPool._apply_*``), so a replayed state is the state that was acknowledged.
"""

from __future__ import annotations

import heapq
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import polars as pl

from omnistock.compiled import CompiledNetwork, compile_network
from omnistock.exceptions import InvalidRequest, JournalError, OmnistockError
from omnistock.pool.availability import stock_frame
from omnistock.pool.journal import Journal, Snapshot, read_snapshot, write_snapshot
from omnistock.pool.reservation import ACTIVE, COMMITTED, EXPIRED, RELEASED, Reservation

if TYPE_CHECKING:
    from omnistock.model.scenario import Scenario
    from omnistock.pool.pool import StockPool

__all__ = ["recover_pool", "replay", "write_pool_snapshot"]


def write_pool_snapshot(pool: StockPool, path: Path) -> Path:
    """Write ``pool``'s state to the snapshot directory ``path`` (StockPool.snapshot)."""
    net = pool.network
    with pool.lock:
        if pool._journal is not None:
            pool._journal.sync()
        seq = pool._seq
        counts = {
            name: a.copy() for name, a in pool._columns().items() if name != "free"
        }
        kept = {r.reservation_id: r for r in pool._keys.values()}
        kept.update(pool._active)
        status = np.frombuffer(bytes(pool._status), dtype=np.uint8)
    stock = stock_frame(net, counts)
    lines = [
        (r.reservation_id, r.order_id, r.key, r.deadline, r.exempt, i, *line)
        for rid in sorted(kept)
        for r in (kept[rid],)
        for i, line in enumerate(r.lines)
    ]
    reservations = pl.DataFrame(
        lines,
        schema={
            "reservation_id": pl.Int64,
            "order_id": pl.String,
            "key": pl.String,
            "deadline": pl.Float64,
            "exempt": pl.Boolean,
            "line": pl.Int64,
            "node_id": pl.String,
            "sku": pl.String,
            "qty": pl.Int64,
        },
        orient="row",
    )
    snap = Snapshot(
        network_json=pool._base.model_dump_json(),
        stock=stock,
        reservations=reservations,
        status=pl.DataFrame({"status": status}),
        seq=seq,
    )
    return write_snapshot(path, snap)


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
    free = np.maximum(0, on_hand - reserved - safety)
    return replace(
        net,
        sku_ids=sku_ids,
        sku_index={str(sku): i for i, sku in enumerate(sku_ids)},
        stock_indptr=indptr,
        stock_node=node_idx,
        stock_on_hand=on_hand,
        stock_reserved=reserved,
        stock_safety=safety,
        stock_free=free,
        stock_limit=np.maximum(0, free - net.node_protect[node_idx]),
    )


def _pool_from_snapshot(
    cls: type[StockPool], where: str | os.PathLike[str], options: dict[str, Any]
) -> StockPool:
    from omnistock.model.scenario import Scenario

    snap = read_snapshot(where)
    base = Scenario.model_validate_json(snap.network_json)
    stock = snap.stock
    network = _network_from_snapshot(base, stock, where)
    pool = cls(base, _network=network, **options)
    pool._shipped[:] = stock["shipped"].to_numpy()
    pool._received[:] = stock["received"].to_numpy()
    pool._status = bytearray(snap.status["status"].to_numpy().tobytes()) or bytearray(1)
    for (rid,), group in snap.reservations.sort("reservation_id", "line").group_by(
        "reservation_id", maintain_order=True
    ):
        first = group.row(0, named=True)
        lines = tuple(group.select("node_id", "sku", "qty").iter_rows())
        res = Reservation(
            int(cast(int, rid)),
            first["order_id"],
            lines,
            first["key"],
            first["deadline"],
            first["exempt"],
            tuple(pool._row(n, s) for n, s, _ in lines),
        )
        if res.key is not None:
            pool._keys[res.key] = res
        if pool._status[res.reservation_id] == ACTIVE:
            pool._active[res.reservation_id] = res
            if res.deadline is not None:
                pool._heap.append((res.deadline, res.reservation_id))
    heapq.heapify(pool._heap)
    pool._seq = snap.seq
    return pool


def recover_pool(
    cls: type[StockPool],
    snapshot: str | os.PathLike[str] | Scenario,
    journal: str | os.PathLike[str],
    **options: Any,
) -> StockPool:
    """Rebuild a pool from a snapshot (or its starting scenario) and a journal."""
    from omnistock.model.scenario import Scenario

    sync = {
        k: options.pop(k)
        for k in ("fsync", "batch_records", "batch_ms")
        if k in options
    }
    j = Journal(journal, **sync)
    try:
        if isinstance(snapshot, Scenario):
            pool = cls(snapshot, **options)
        else:
            pool = _pool_from_snapshot(cls, snapshot, options)
        after = [rec for rec in j.recovered if rec[0] > pool._seq]
        if j.recovered and (
            j.last_seq < pool._seq or (after and after[0][0] != pool._seq + 1)
        ):
            first = j.recovered[0][0]
            raise JournalError(
                j.path,
                f"records {first}..{j.last_seq} do not continue the snapshot at seq "
                f"{pool._seq}.",
            )
        replay_all(pool, after, j.path)
    except BaseException:
        j.close()
        raise
    j.recovered = []
    j.last_seq = pool._seq
    pool._journal = j
    return pool


def replay(pool: StockPool, rec: list[Any]) -> None:
    """Apply one journal record ``[seq, op, *args]`` without journaling it."""
    seq, op, *args = rec
    if op == "reserve":
        rid, order_id, key, deadline, exempt, lines = args
        norm = tuple((str(n), str(s), int(q)) for n, s, q in lines)
        if rid != len(pool._status):
            msg = f"reservation id {rid} out of order (expected {len(pool._status)})."
            raise InvalidRequest(msg)
        rows = pool._check_reserve(norm, bool(exempt))
        pool._apply_reserve(
            Reservation(rid, order_id, norm, key, deadline, exempt, rows)
        )
    elif op in ("commit", "release"):
        res = pool._open(args[0], op)
        pool._apply_close(res, COMMITTED if op == "commit" else RELEASED)
    elif op == "expire":
        for res in [pool._open(rid, "expire") for rid in args[1]]:
            pool._apply_close(res, EXPIRED)
    elif op == "adjust":
        node_id, sku, delta, _reason = args
        pool._apply_adjust(pool._check_adjust(node_id, sku, int(delta)), int(delta))
    else:
        msg = f"unknown operation {op!r}."
        raise InvalidRequest(msg)
    pool._seq = seq


def replay_all(pool: StockPool, records: list[list[Any]], path: object) -> None:
    for rec in records:
        try:
            replay(pool, rec)
        except (OmnistockError, ValueError, TypeError) as err:
            raise JournalError(path, f"record {rec[0]} does not apply: {err}") from err
