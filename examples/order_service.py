"""An order service on the live stock pool: source, reserve, commit or release, expire.

Several checkout threads take orders from a queue. For each order the Sourcer
decides which nodes serve it, reading the pool's live counters; the pool then
reserves those units atomically (all lines or none, never more than is free).
A reservation is later committed (shipped), released (cart abandoned) or left
to expire (its ttl runs out). Every operation goes to a journal; at the end the
state is recovered from a snapshot and the journal and compared with the live one.

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

from omnistock import InsufficientStock, Sourcer, StockPool, samples


def serve(args: argparse.Namespace, workdir: Path) -> None:
    network = samples.network("small", seed=args.seed)
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

    start = time.perf_counter()
    threads = [
        threading.Thread(target=checkout, args=(w,)) for w in range(args.threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(args.ttl)
    expired = pool.expire()  # a service runs this on a timer
    elapsed = time.perf_counter() - start

    print(f"{len(orders)} orders on {args.threads} threads in {elapsed:.2f} s")
    for outcome, n in counts.items():
        print(f"  {outcome:>15}: {n}")
    print(
        f"  {'expired':>15}: {len(expired)}  (retries after a lost race: {retries[0]})"
    )

    stock = pool.stock()
    # Never oversold, never lost a unit: what is on hand plus what shipped, less
    # what was received, is what the network started with, row by row.
    assert (stock["on_hand"] >= stock["reserved"]).all()
    assert (stock["on_hand"] + stock["shipped"] - stock["received"]).equals(
        start_stock["on_hand"]
    )
    print(
        f"  units shipped: {stock['shipped'].sum()}, still held: {stock['reserved'].sum()}"
    )
    print("\nAvailable to promise on the web, standard tier (top 5 SKUs):")
    view = pool.availability(channel="web", tier="standard")
    print(view.sort("available", descending=True).head(5))

    # Durability: snapshot, a few more operations, then rebuild from disk.
    snapshot = pool.snapshot(workdir / "snapshot")
    pool.adjust(str(stock["node_id"][0]), str(stock["sku"][0]), 5, "receipt")
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
