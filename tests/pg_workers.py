"""Client processes for the PostgreSQL pool's stress and crash tests.

``python -m tests.pg_workers stress DSN SCHEMA SEED``: 4 threads reserving
(keyed, with retries of the same key), amending, releasing and committing on
the hot rows; prints one JSON summary line.

``python -m tests.pg_workers stream DSN SCHEMA SEED``: one thread that prints
``T <op>`` before each operation and ``A <outcome>`` after it returns, until
it is killed (the test replays the acknowledged operations on a model).
"""

from __future__ import annotations

import json
import random
import sys
import threading
from typing import Any

from omnistock import InsufficientStock, ReservationClosed, StockPool

#: The hot rows every client fights over.
HOT = [("W1", "A"), ("W1", "B"), ("S1", "A")]


def stress_thread(
    pool: StockPool,
    rng: random.Random,
    tag: str,
    out: dict[str, int],
    shared: dict[str, int | None],
) -> None:
    """Reserve, retry, amend, release and commit on the hot rows; count what happened.

    Every thread of every process also races for the same keys ``shared-i``
    (2 units of S1/C): ``shared`` records the reservation each key gave it.
    """
    mine: list[int] = []
    for i in range(30):
        try:
            got = pool.reserve("shared", [("S1", "C", 1)], key=f"shared-{i % 6}")
            shared[f"shared-{i % 6}"] = got.reservation_id
        except InsufficientStock:
            pass
        node, sku = rng.choice(HOT)
        key = f"{tag}-{i}"
        try:
            res = pool.reserve(f"o-{key}", [(node, sku, rng.randint(1, 3))], key=key)
        except InsufficientStock:
            out["short"] += 1
            continue
        again = pool.reserve(f"o-{key}", list(res.lines), key=key)
        if again.reservation_id != res.reservation_id or again.lines != res.lines:
            out["bad_retry"] += 1
        mine.append(res.reservation_id)
        roll = rng.random()
        rid = mine.pop(0) if len(mine) > 1 else None
        try:
            if rid is not None and roll < 0.3:
                node2, sku2 = rng.choice(HOT)
                pool.amend(rid, [(node2, sku2, rng.randint(1, 2))], key=f"{key}-am")
                out["amend"] += 1
            elif rid is not None and roll < 0.6:
                pool.release(rid)
                out["release"] += 1
            elif rid is not None:
                pool.commit(rid)
                out["commit"] += 1
        except (InsufficientStock, ReservationClosed):
            out["short"] += 1


def stress(dsn: str, schema: str, seed: int) -> None:
    pool = StockPool.connect(dsn, schema=schema)
    counts = [
        dict.fromkeys(["short", "bad_retry", "amend", "release", "commit"], 0)
        for _ in range(4)
    ]
    shared: list[dict[str, int | None]] = [{} for _ in range(4)]
    threads = [
        threading.Thread(
            target=stress_thread,
            args=(
                pool,
                random.Random(seed * 10 + t),
                f"p{seed}t{t}",
                counts[t],
                shared[t],
            ),
        )
        for t in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pool.close()
    total = {k: sum(c[k] for c in counts) for k in counts[0]}
    print(json.dumps({"counts": total, "shared": shared}), flush=True)


def stream(dsn: str, schema: str, seed: int) -> None:
    pool = StockPool.connect(dsn, schema=schema)
    rng = random.Random(seed)
    active = [r.reservation_id for r in pool.reservations()]
    for i in range(10_000):
        op: dict[str, Any]
        if active and rng.random() < 0.5:
            rid = active.pop(rng.randrange(len(active)))
            kind = rng.choice(["commit", "release", "amend"])
            op = {"op": kind, "rid": rid}
            if kind == "amend":
                node, sku = rng.choice(HOT)
                op.update(key=f"s{seed}-{i}", lines=[[node, sku, rng.randint(1, 2)]])
        else:
            node, sku = rng.choice(HOT)
            op = {"op": "reserve", "key": f"s{seed}-{i}", "lines": [[node, sku, 1]]}
        print("T " + json.dumps(op), flush=True)
        try:
            if op["op"] == "reserve":
                got: Any = pool.reserve("o", op["lines"], key=op["key"]).reservation_id
            elif op["op"] == "amend":
                got = pool.amend(op["rid"], op["lines"], key=op["key"]).reservation_id
            else:
                got = getattr(pool, op["op"])(op["rid"]).reservation_id
        except InsufficientStock:
            got = None
            if op["op"] == "amend":
                active.append(op["rid"])
        if got is not None and op["op"] in ("reserve", "amend"):
            active.append(got)
        print("A " + json.dumps({"rid": got}), flush=True)


if __name__ == "__main__":
    what, dsn_, schema_, seed_ = sys.argv[1:5]
    {"stress": stress, "stream": stream}[what](dsn_, schema_, int(seed_))
