"""The StockPool on PostgreSQL against the in-process pool and bare SQL, in one run.

Issue 18 targets (2 shared cores): reserve+commit pairs/s within 2x of the
bare-SQL baseline (one conditional UPDATE per reserve and one per commit,
autocommit), and Sourcer source+reserve p99 <= 10 ms with 4 client processes.

Run (on demand, a few minutes): ``PYTHONPATH=$PWD/src:$PWD /work/venv/bin/python
benchmarks/pg_pool.py [--seconds 5] [--clients 1,4,8]``. It starts its own
server (tests/pg_server.py) with fsync and synchronous_commit ON (the
defaults), then for each client count runs k client processes for the same
wall-clock window (a start time they all wait for) and prints one table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from omnistock import Scenario, Sourcer, StockPool, samples
from omnistock.pool.pgstore import PostgresStore

ROOT = Path(__file__).resolve().parents[1]
#: Units on every stock row: no request ever runs short during a run.
PLENTY = 10**9
BARE = """
DROP TABLE IF EXISTS bare;
CREATE TABLE bare (id int PRIMARY KEY, on_hand bigint, reserved bigint, safety bigint);
INSERT INTO bare SELECT g, %s, 0, 0 FROM generate_series(0, %s) g;
"""


def network() -> Scenario:
    """The "small" sample with plenty of stock on every row and no capacity limit."""
    data = samples.network("small", 0).model_dump(mode="json")
    for rec in data["stock"]:
        rec.update(on_hand=PLENTY, reserved=0, safety_stock=0)
    for node in data["nodes"]:
        node["capacity"] = None  # no node runs out of capacity either
    return Scenario.model_validate(data)


def server_cpu(server: Any) -> float:
    """CPU seconds used so far by the server: its postmaster and every child of it.

    A backend's time moves into the postmaster's children time when it ends.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    master = int((server.dir / "data" / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        pid = int(stat.parent.name)
        if pid == master:  # its own time, and that of its children that ended
            total += sum(int(f) for f in fields[11:15]) / ticks
        elif int(fields[1]) == master:  # a live backend: utime + stime
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _wait(start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))


def worker(kind: str, dsn: str, schema: str, start_at: float, seconds: float) -> dict:
    """One client process: run ``kind`` from ``start_at`` for ``seconds``."""
    sc = network()
    lines = [(r.node, r.sku) for r in sc.stock]
    rng = np.random.default_rng(int(start_at * 1000) % 2**31 + hash(kind) % 1000)
    lat: list[float] = []
    done = 0
    if kind == "bare":
        import psycopg

        conn = psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}")
        n = len(lines)
        _wait(start_at)
        end = time.time() + seconds
        cpu = time.process_time()
        while time.time() < end:
            row = int(rng.integers(n))
            conn.execute(
                "UPDATE bare SET reserved = reserved + 1 WHERE id = %s "
                "AND on_hand - reserved - safety >= 1",
                (row,),
            )
            conn.execute(
                "UPDATE bare SET reserved = reserved - 1, on_hand = on_hand - 1 "
                "WHERE id = %s",
                (row,),
            )
            done += 1
        conn.close()
        return {"pairs": done, "seconds": seconds, "cpu": time.process_time() - cpu}
    pool = StockPool.connect(dsn, schema=schema)
    if kind == "pairs":
        _wait(start_at)
        end = time.time() + seconds
        cpu = time.process_time()
        while time.time() < end:
            node, sku = lines[int(rng.integers(len(lines)))]
            pool.commit(pool.reserve("o", [(node, sku, 1)]).reservation_id)
            done += 1
        pool.close()
        return {"pairs": done, "seconds": seconds, "cpu": time.process_time() - cpu}
    # "source": Sourcer.source + commit (the reserve in the database), timed;
    # the reservation is then released (untimed) so stock stays put.
    sourcer = Sourcer(sc, pool=pool)
    orders = samples.orders(sc, 4000, seed=int(rng.integers(1000)))
    for order in orders[:50]:  # load the kernels
        sourcer.source(order)
    _wait(start_at)
    end = time.time() + seconds
    i = 0
    while time.time() < end:
        order = orders[i % len(orders)]
        i += 1
        t0 = time.perf_counter()
        res = sourcer.commit(sourcer.source(order))
        lat.append(time.perf_counter() - t0)
        if res is not None:
            pool.release(res.reservation_id)
    pool.close()
    return {"lat": lat, "retries": sourcer.stale_retries}


def in_process(threads: int, seconds: float) -> dict[str, Any]:
    """reserve+commit pairs/s and source+reserve latency on the in-process pool."""
    sc = network()
    lines = [(r.node, r.sku) for r in sc.stock]
    pool = StockPool.from_scenario(sc)
    counts = [0] * threads

    def run(t: int) -> None:
        rng = np.random.default_rng(t)
        end = time.time() + seconds
        while time.time() < end:
            node, sku = lines[int(rng.integers(len(lines)))]
            pool.commit(pool.reserve("o", [(node, sku, 1)]).reservation_id)
            counts[t] += 1

    ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    sourcer = Sourcer(sc, pool=pool)
    lat = []
    for order in samples.orders(sc, 4000, seed=3):
        t0 = time.perf_counter()
        res = sourcer.commit(sourcer.source(order))
        lat.append(time.perf_counter() - t0)
        if res is not None:
            pool.release(res.reservation_id)
    return {"pairs_s": sum(counts) / seconds, "lat": lat[50:]}


def run_clients(kind: str, k: int, dsn: str, schema: str, seconds: float) -> list:
    start_at = time.time() + 6.0  # every client imported and connected by then
    env_path = f"{ROOT / 'src'}:{ROOT}"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                kind,
                dsn,
                schema,
                str(start_at),
                str(seconds),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        )
        for _ in range(k)
    ]
    return [json.loads(p.communicate()[0]) for p in procs]


def _ms(lat: list[float]) -> str:
    a = np.array(lat) * 1e3
    return f"{np.median(a):.2f} / {np.percentile(a, 99):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", default="1,4,8")
    args = ap.parse_args()
    from tests.pg_server import Server

    # fsync and synchronous_commit on: the server's defaults, said explicitly.
    server = Server(["fsync=on", "synchronous_commit=on"]).start()
    try:
        store = PostgresStore(server.dsn, schema="bench")
        StockPool.from_scenario(network(), store=store).close()
        n_rows = len(network().stock)
        with store.transaction() as conn:
            conn.execute(BARE.replace("%s", str(PLENTY), 1).replace("%s", str(n_rows)))
        store.close()
        print("clients | bare SQL pairs/s | PG pool pairs/s | ratio | in-process "
              "pairs/s (k threads) | PG source+reserve ms median / p99 | "
              "in-process ms median / p99 | stale retries | CPU ms per pair, "
              "bare: server + client | pool: server + client")  # fmt: skip
        for k in [int(c) for c in args.clients.split(",")]:
            s0 = server_cpu(server)
            bare = run_clients("bare", k, server.dsn, "bench", args.seconds)
            s1 = server_cpu(server)
            pairs = run_clients("pairs", k, server.dsn, "bench", args.seconds)
            s2 = server_cpu(server)
            src = run_clients("source", k, server.dsn, "bench", args.seconds)
            local = in_process(k, args.seconds)
            b = sum(r["pairs"] for r in bare) / args.seconds
            p = sum(r["pairs"] for r in pairs) / args.seconds
            lat = [x for r in src for x in r["lat"]]
            nb, np_ = sum(r["pairs"] for r in bare), sum(r["pairs"] for r in pairs)
            cpu_b = (1e3 * (s1 - s0) / nb, 1e3 * sum(r["cpu"] for r in bare) / nb)
            cpu_p = (1e3 * (s2 - s1) / np_, 1e3 * sum(r["cpu"] for r in pairs) / np_)
            print(
                f"{k} | {b:,.0f} | {p:,.0f} | {b / p:.2f}x | {local['pairs_s']:,.0f} | "
                f"{_ms(lat)} | {_ms(local['lat'])} | "
                f"{sum(r['retries'] for r in src)} | "
                f"{cpu_b[0]:.3f} + {cpu_b[1]:.3f} | {cpu_p[0]:.3f} + {cpu_p[1]:.3f}",
                flush=True,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, dsn, schema, start, secs = sys.argv[2:7]
        print(json.dumps(worker(kind, dsn, schema, float(start), float(secs))))
    else:
        main()
