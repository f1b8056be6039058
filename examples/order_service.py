"""An order service on the live stock pool: the whole life of an order, on threads.

Several checkout threads take orders from a queue. For each order the Sourcer
decides which nodes serve it, reading the pool's live counters; the pool then
reserves those units atomically (all lines or none, never more than is free).
A reservation is later committed (shipped), released (cart abandoned) or left
to expire (its ttl runs out). Meanwhile, on its own thread, one customer's order
lives its whole life: reserved, amended twice (an accessory added, then switched
to click & collect at a store), shipped in part, cancelled in part, returned to
another store, which sells the unit again; a last order is picked up at a parcel
locker, holding one of its parcels until it is cancelled. Every operation goes to a journal; at
the end the process "crashes" and the state is recovered from a snapshot and the
journal and compared with the live one.

Run: python examples/order_service.py [--orders N] [--threads T] [--small]
"""

from __future__ import annotations

import argparse
import queue
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from omnistock import InsufficientStock, Order, Scenario, Sourcer, StockPool, samples


def one_life(network: Scenario, pool: StockPool, sourcer: Sourcer) -> list[str]:
    """One order's whole life through the pool; returns what happened, step by step."""
    net = pool.network
    stores = [n for n in network.nodes if n.kind == "store" and "pickup" in n.methods]
    store, other = stores[0], stores[1]
    # Two SKUs the store holds (the item and its accessory), one the other lacks.
    stock = pool.stock().filter(pool.stock()["node_id"] == store.id)
    held = set(pool.stock().filter(pool.stock()["node_id"] == other.id)["sku"])
    free = dict(zip(stock["sku"], stock["free"], strict=True))
    item = next(s for s, f in free.items() if f >= 3 and s not in held)
    accessory = next(s for s, f in free.items() if f >= 3 and s != item)
    near = {"lat": store.lat + 0.01, "lon": store.lon + 0.01}
    log: list[str] = []

    def order(lines: dict[str, int], **how: object) -> Order:
        data = {"id": "life-1", "tier": "vip", "destination": near, **how}
        data["lines"] = [{"sku": s, "qty": q} for s, q in lines.items()]
        return Order.model_validate(data)

    decision = sourcer.source(order({item: 2}))
    res = sourcer.commit(decision, key="life-1")
    assert res is not None
    log.append(f"reserved      {res.lines}")
    # The call centre adds an accessory: one step, the order's own units stay its own.
    decision, res = sourcer.amend(res.reservation_id, order({item: 2, accessory: 1}))
    log.append(f"amended       {res.lines} (amends {res.amends})")
    # The customer switches to click & collect at the store.
    pickup = {"method": "pickup", "pickup_node": store.id, "destination": None}
    decision, res = sourcer.amend(
        res.reservation_id, order({item: 2, accessory: 1}, **pickup)
    )
    kept = decision.explain().filter(decision.explain()["kept"] > 0)
    log.append(f"click&collect {res.lines}; kept in place: {kept['kept'].sum()} units")
    # Ship the item now (partial commit), cancel the accessory (partial release).
    res = pool.commit(
        res.reservation_id, [line for line in res.lines if line[1] == item]
    )
    log.append(f"shipped 2 x {item}; still held {res.lines}")
    pool.release(res.reservation_id, res.lines)
    log.append(f"cancelled the accessory: {pool.status(res.reservation_id)}")
    # One unit comes back at another store, which never stocked the item.
    on_hand = pool.receive_return("life-1", other.id, item, 1, reason="too small")
    log.append(f"returned 1 x {item} at {other.id} (on hand there: {on_hand})")
    # ... and that store sells it again to the next click & collect customer there.
    again = Order.model_validate(
        {
            "id": "life-2",
            "tier": "vip",  # may take a store's last unit (last-unit protection)
            "channel": other.channels[0] if other.channels else "web",
            "method": "pickup",
            "pickup_node": other.id,
            "lines": [{"sku": item, "qty": 1}],
        }
    )
    sold = sourcer.commit(sourcer.source(again))
    assert sold is not None
    assert sold.lines == ((other.id, item, 1),), sold
    pool.commit(sold.reservation_id)
    log.append(f"{other.id} sold the returned unit again: {sold.lines}")
    log.extend(locker_pickup(network, pool, sourcer, item))
    assert net.n_nodes == pool.network.n_nodes
    return log


def locker_pickup(
    network: Scenario, pool: StockPool, sourcer: Sourcer, sku: str
) -> list[str]:
    """An order picked up at a parcel locker: one parcel a shipping node (S11)."""
    locker = next(n for n in network.nodes if n.kind == "locker")
    at = pool.network.node_index[locker.id]
    before = int(pool.capacity_left[at])
    order = Order.model_validate(
        {
            "id": "life-3",
            "method": "pickup",
            "pickup_node": locker.id,
            "lines": [{"sku": sku, "qty": 1}],
        }
    )
    res = sourcer.commit(sourcer.source(order))
    if res is None:  # nothing free for it near the locker: the run goes on
        return [f"{locker.id}: life-3 could not be served"]
    left = int(pool.capacity_left[at])
    assert before - left == len(res.parcels), (before, left, res.parcels)
    pool.release(res.reservation_id)  # the customer cancels: the parcel comes back
    assert int(pool.capacity_left[at]) == before
    return [
        f"locker {locker.id}: {res.lines} held {len(res.parcels)} parcel(s) "
        f"({before} -> {left} left), given back on cancel"
    ]


def serve(args: argparse.Namespace, workdir: Path) -> None:
    network = samples.network("small", seed=args.seed, lockers=1)
    orders = samples.orders(network, args.orders, seed=args.seed)

    pool = StockPool.from_scenario(network, journal=workdir / "journal", fsync="batch")
    # The Sourcer decides on the pool's live counters and commits by reserving
    # through the pool, which re-checks every line under its lock: a decision made
    # on counters that changed meanwhile fails cleanly and is sourced again.
    sourcer = Sourcer(network, pool=pool)

    start_stock = pool.stock()
    todo: queue.Queue[int] = queue.Queue()
    for i in range(len(orders)):
        todo.put(i)
    counts = {"committed": 0, "released": 0, "left to expire": 0, "unfillable": 0}
    retries = [0]
    tally = threading.Lock()

    def checkout(worker: int) -> None:
        rng = np.random.default_rng(args.seed + worker)
        while True:
            try:
                order = orders[todo.get_nowait()]
            except queue.Empty:
                return
            for _attempt in range(4):
                decision = sourcer.source(order)  # stock unchanged
                if decision.allocations.is_empty():
                    outcome = "unfillable"
                    break
                try:
                    res = sourcer.commit(decision, key=order.id, ttl=args.ttl)
                except InsufficientStock:
                    with tally:
                        retries[0] += 1
                    continue  # another checkout took the units first: source again
                assert res is not None  # a Sourcer on a pool returns the reservation
                draw = rng.random()
                if draw < 0.7:
                    pool.commit(res.reservation_id)  # paid and shipped
                    outcome = "committed"
                elif draw < 0.85:
                    pool.release(res.reservation_id)  # cart abandoned
                    outcome = "released"
                else:
                    outcome = "left to expire"
                break
            else:
                outcome = "unfillable"
            with tally:
                counts[outcome] += 1

    life: list[str] = []
    failed: list[BaseException] = []

    def live() -> None:
        try:
            life.extend(one_life(network, pool, sourcer))
        except BaseException as err:  # re-raised on the main thread below
            failed.append(err)

    start = time.perf_counter()
    threads = [
        threading.Thread(target=checkout, args=(w,)) for w in range(args.threads)
    ]
    threads.append(threading.Thread(target=live))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
    time.sleep(args.ttl)
    expired = pool.expire()  # a service runs this on a timer
    elapsed = time.perf_counter() - start

    print(f"{len(orders)} orders on {args.threads} threads in {elapsed:.2f} s")
    for outcome, n in counts.items():
        print(f"  {outcome:>15}: {n}")
    print(
        f"  {'expired':>15}: {len(expired)}  (retries after a lost race: {retries[0]})"
    )

    print("\nThe life of order life-1:")
    for step in life:
        print(f"  {step}")

    stock = pool.stock()
    # Never oversold, never lost a unit: what is on hand plus what shipped, less
    # what was received or returned, is what the network started with, row by
    # row (a row a return added started at 0).
    assert (stock["on_hand"] >= stock["reserved"]).all()
    start = (
        stock.select("node_id", "sku")
        .join(
            start_stock.select("node_id", "sku", "on_hand"),
            on=["node_id", "sku"],
            how="left",
        )["on_hand"]
        .fill_null(0)
    )
    assert (
        stock["on_hand"] + stock["shipped"] - stock["received"] - stock["returned"]
    ).equals(start, check_names=False)
    print(
        f"  units shipped: {stock['shipped'].sum()}, still held: {stock['reserved'].sum()}"
    )
    print("\nAvailable to promise on the web, standard tier (top 5 SKUs):")
    view = pool.availability(channel="web", tier="standard")
    print(view.sort("available", descending=True).head(5))

    # Durability: snapshot, a few more operations, then rebuild from disk.
    snapshot = pool.snapshot(workdir / "snapshot")
    pool.adjust(str(stock["node_id"][0]), str(stock["sku"][0]), 5, "receipt")
    pool.sync()  # what the OS holds survives a process crash; drop the pool
    pool.close()
    recovered = StockPool.recover(snapshot, workdir / "journal")
    same = recovered.stock().equals(pool.stock())
    print(f"\nrecovered from snapshot + journal: identical state = {same}")
    recovered.close()
    if not same:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--ttl", type=float, default=0.2, help="reservation ttl, seconds"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--small", action="store_true", help="300 orders (for tests)")
    args = parser.parse_args()
    if args.small:
        args.orders = min(args.orders, 300)
    with tempfile.TemporaryDirectory() as tmp:
        serve(args, Path(tmp))


if __name__ == "__main__":
    main()
