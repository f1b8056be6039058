"""The StockPool on PostgreSQL: many processes, killed clients, the Sourcer, the CLI.

The operation tests themselves run on both stores (tests/test_pool*.py, the
``pool_store`` fixture); here is what only a shared database has.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from omnistock import InsufficientStock, InvalidRequest, Order, Sourcer, StockPool
from omnistock.cli import main
from omnistock.compiled.network import NO_LIMIT
from omnistock.pool import pgstore
from omnistock.pool.pgpool import PostgresPool
from omnistock.pool.pgschema import SCHEMA_VERSION
from omnistock.pool.pgstore import PostgresStore, StoreError
from tests.test_pool import NODES, scenario

ROOT = Path(__file__).resolve().parents[1]
STRESS_STOCK = [
    {"node": "W1", "sku": "A", "on_hand": 80, "safety_stock": 2},
    {"node": "W1", "sku": "B", "on_hand": 60, "reserved": 1},
    {"node": "S1", "sku": "A", "on_hand": 40},
    {"node": "S1", "sku": "C", "on_hand": 2},
]


def client(what: str, store: PostgresStore, seed: int) -> subprocess.Popen[str]:
    """A client process (tests/pg_workers.py) on the store's pool.

    Its connections are named ``client-<seed>`` (libpq's PGAPPNAME), so the
    test can see when the server is done with them.
    """
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "PGAPPNAME": f"client-{seed}",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.pg_workers",
            what,
            store.dsn,
            store.schema,
            str(seed),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


# Per stock row, the units that are where the book says: reserved is the units
# held outside the pool plus the active reservations' lines, never above
# on_hand; shipped is the committed lines; on_hand moved only by shipping.
INVARIANTS = """
WITH held AS (
    SELECT u.nd, u.sk, sum(u.q) FILTER (WHERE r.status = 1) AS active,
           sum(u.q) FILTER (WHERE r.status = 2) AS shipped
    FROM os_res r, unnest(r.nodes, r.skus, r.qtys) u(nd, sk, q)
    GROUP BY u.nd, u.sk)
SELECT w.node_id, w.sku, w.on_hand, w.reserved, w.held, w.shipped,
       coalesce(h.active, 0), coalesce(h.shipped, 0)
FROM os_row w LEFT JOIN held h ON h.nd = w.node_id AND h.sk = w.sku
WHERE w.reserved <> w.held + coalesce(h.active, 0)
   OR w.reserved > w.on_hand
   OR w.shipped <> coalesce(h.shipped, 0)
"""

NODE_INVARIANT = f"""
SELECT n.id FROM os_node n LEFT JOIN (
    SELECT u.nd, sum(u.q) AS q FROM os_res r, unnest(r.nodes, r.qtys) u(nd, q)
    WHERE r.status IN (1, 2) GROUP BY u.nd) h ON h.nd = n.id
WHERE n.cap_left <> CASE WHEN n.capacity = {NO_LIMIT} THEN n.capacity
                        ELSE n.capacity - coalesce(h.q, 0) END
"""


def test_four_processes_of_four_threads_never_oversell_nor_lose_a_unit(
    pg_store: Callable[[], PostgresStore],
) -> None:
    store = pg_store()
    # Enough stock on the hot rows for reservations to come and go before it
    # runs out (commits ship it), and 2 units of S1/C for the shared keys.
    # W1 may give 120 units: its capacity runs out too, and must add up.
    nodes = [dict(n, capacity=120) if n["id"] == "W1" else n for n in NODES]
    sc = scenario(stock=STRESS_STOCK, nodes=nodes)
    StockPool.from_scenario(sc, store=store).close()
    procs = [client("stress", store, seed) for seed in range(4)]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    counts = {k: sum(o["counts"][k] for o in outs) for k in outs[0]["counts"]}
    # Every keyed retry returned the original reservation...
    assert counts["bad_retry"] == 0
    # ... and the work really contended: stock ran out, reservations moved.
    assert counts["short"] > 0 and counts["commit"] + counts["release"] > 0
    assert not store.query(INVARIANTS)
    # Per node: the capacity taken is the units of the reservations that hold
    # or shipped them (no period was opened, no partial commit made); a node
    # without a limit is never counted down (it reads NO_LIMIT).
    assert not store.query(NODE_INVARIANT)
    # on_hand moved by shipping only: start = on_hand + shipped, row by row.
    start = {(r.node, r.sku): r.on_hand for r in sc.stock}
    for node, sku, on_hand, shipped in store.query(
        "SELECT node_id, sku, on_hand, shipped FROM os_row"
    ):
        assert on_hand + shipped == start[node, sku]
    # The 16 threads raced for the same keys: one reservation per key, the
    # same one for every thread, and no more than the 2 units of S1/C.
    keyed = dict(
        store.query("SELECT key, id FROM os_res WHERE key LIKE %s", ["shared-%"])
    )
    assert 1 <= len(keyed) <= 2
    for out in outs:
        for seen in out["shared"]:
            assert seen.items() <= keyed.items()
    store.close()


def _replay(model: StockPool, op: dict[str, Any], ids: dict[int, int]) -> int | None:
    """Apply ``op`` to the in-process model; the model's reservation id (None: short)."""
    try:
        if op["op"] == "reserve":
            return model.reserve("o", op["lines"], key=op["key"]).reservation_id
        if op["op"] == "amend":
            return model.amend(
                ids[op["rid"]], op["lines"], key=op["key"]
            ).reservation_id
        return getattr(model, op["op"])(ids[op["rid"]]).reservation_id
    except InsufficientStock:
        return None


def test_killed_clients_leave_the_state_of_their_acknowledged_operations(
    pg_store: Callable[[], PostgresStore],
) -> None:
    store = pg_store()
    StockPool.from_scenario(scenario(), store=store).close()
    model = StockPool.from_scenario(scenario())
    pool = StockPool.connect(store.dsn, schema=store.schema)
    ids: dict[int, int] = {}  # database reservation id -> the model's
    rng = random.Random(18)
    in_flight_applied = 0
    for run in range(20):
        proc = client("stream", store, run)
        assert proc.stdout is not None
        # Let it run a few operations, then kill it mid-stream (often inside a call).
        seen = [proc.stdout.readline() for _ in range(rng.randint(2, 12))]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # The server may still be running the call the client died in (and
        # will then commit it): wait until its backend is gone.
        while store.query(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (f"client-{run}",),
        )[0][0]:
            time.sleep(0.01)
        # Everything it printed, in order: the acknowledged operations...
        seen += proc.stdout.read().splitlines()
        lines = [line.strip().partition(" ") for line in seen]
        proc.stdout.close()
        tried = None
        for kind, _, body in lines:
            if kind == "T":
                tried = json.loads(body)
                continue
            got = json.loads(body)["rid"]
            mine = _replay(model, tried, ids)  # type: ignore[arg-type]
            assert (got is None) == (mine is None), tried  # the same outcome
            if got is not None:
                ids[got] = mine  # type: ignore[assignment]
            tried = None
        if tried is None:
            continue
        # ... and the one in flight, which committed whole or not at all: the
        # database says which, and the model follows.
        if tried["op"] in ("reserve", "amend"):
            done = pool.keyed(tried["key"])
            if done is not None:
                mine = _replay(model, tried, ids)
                assert mine is not None
                ids[done.reservation_id] = mine
                in_flight_applied += 1
        elif pool.status(tried["rid"]) != "active":
            assert _replay(model, tried, ids) is not None
            in_flight_applied += 1
    fresh = StockPool.connect(store.dsn, schema=store.schema)
    assert fresh.stock().equals(model.stock())
    # A node without a limit reads NO_LIMIT on PostgreSQL (never counted down).
    assert fresh.capacity_left.tolist() == [
        NO_LIMIT if c >= 2**60 else c for c in model.capacity_left.tolist()
    ]
    for rid, mine in ids.items():
        assert fresh.status(rid) == model.status(mine)
    assert not store.query(INVARIANTS)
    fresh.close()
    pool.close()
    store.close()


def test_a_sourcer_on_a_stale_copy_is_refused_and_sources_again(
    pg_store: Callable[[], PostgresStore],
) -> None:
    store = pg_store()
    sc = scenario()
    mine = StockPool.from_scenario(sc, store=store)
    other = StockPool.connect(store.dsn, schema=store.schema)
    sourcer = Sourcer(sc, pool=mine)
    order = Order.model_validate(
        {
            "id": "o1",
            "tier": "vip",
            "destination": {"lat": 45.7, "lon": 4.8},
            "lines": [{"sku": "C", "qty": 2}],
        }
    )
    # Another replica takes S1/C, the only C: this process's copy still has 2.
    other.reserve("x", [("S1", "C", 2)])
    assert mine.free_left.sum() > 0 and mine.free("S1", "C") == 0
    stale = sourcer.source(order)
    assert stale.allocations.height == 1
    with pytest.raises(InsufficientStock):
        sourcer.commit(stale)
    # source_and_commit refreshes and sources again: now nothing is free.
    decision = sourcer.source_and_commit(order, retries=2)
    assert sourcer.stale_retries == 1
    assert decision.allocations.height == 0
    row = mine.network.stock_row(
        mine.network.node_index["S1"], mine.network.sku_index["C"]
    )
    assert mine.free_left[row] == 0
    for p in (mine, other):
        p.close()


def test_follow_brings_other_replicas_changes_within_the_interval(
    pg_store: Callable[[], PostgresStore],
) -> None:
    store = pg_store()
    mine = StockPool.from_scenario(scenario(), store=store)
    assert isinstance(mine, PostgresPool)
    other = StockPool.connect(store.dsn, schema=store.schema)
    other.reserve("x", [("S1", "C", 2)])
    other.receive_return("r", "S2", "NEW", 3)  # a row this process never saw
    mine.follow(interval=0.01)
    for _ in range(500):  # polls at most 5 s; no timing is asserted
        if "NEW" in mine.network.sku_index:
            break
        time.sleep(0.01)
    with mine.lock:
        stock = mine.stock()
    assert stock.filter(pl.col("sku") == "NEW")["on_hand"].to_list() == [3]
    assert stock.filter(pl.col("sku") == "C")["free"].to_list() == [0]
    mine.close()
    other.close()


def test_a_second_load_into_one_schema_is_refused(
    pg_store: Callable[[], PostgresStore],
) -> None:
    store = pg_store()
    StockPool.from_scenario(scenario(), store=store).close()
    with pytest.raises(StoreError, match="already holds a pool"):
        StockPool.from_scenario(scenario(), store=store)
    with pytest.raises(StoreError, match="holds no pool yet"):
        StockPool.connect(store.dsn, schema=store.schema + "_none")
    store.close()


def test_db_init_and_migrate_from_the_command_line(
    pg_store: Callable[[], PostgresStore], capsys: pytest.CaptureFixture[str]
) -> None:
    store = pg_store()
    assert main(["db", "migrate", store.dsn, "--schema", store.schema]) == 2
    assert "run `omnistock db init`" in capsys.readouterr().err
    assert main(["db", "init", store.dsn, "--schema", store.schema]) == 0
    assert f"version 0 -> {SCHEMA_VERSION}" in capsys.readouterr().out
    assert main(["db", "migrate", store.dsn, "--schema", store.schema]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert store.version() == SCHEMA_VERSION
    # The schema made by the CLI takes a pool.
    pool = StockPool.from_scenario(scenario(), store=store)
    assert pool.free("W1", "A") == 8
    pool.close()
    store.close()


def test_migrate_upgrades_a_version_1_pool_in_use(
    pg_store: Callable[[], PostgresStore],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = pg_store()
    with monkeypatch.context() as m:  # this library as it was at version 1
        m.setattr(pgstore, "SCHEMA_VERSION", 1)
        nodes = [dict(NODES[0], capacity=5), *NODES[1:]]
        pool = StockPool.from_scenario(scenario(nodes=nodes), store=store)
        held = pool.reserve("o1", [("W1", "A", 2), ("S1", "A", 1)])
        # A one-line reserve as version 1 made it (os_reserve1 came in 2).
        got = store.call("os_reserve", "o2", None, None, True, ["S1"], ["A"], [2])
        assert got[-1][:4] == ("n", 1, 2, NO_LIMIT - 3)  # v1 counted S1 down
        pool.close()
    assert store.version() == 1
    with pytest.raises(StoreError, match="run `omnistock db migrate DSN`"):
        StockPool.connect(store.dsn, schema=store.schema)
    assert main(["db", "migrate", store.dsn, "--schema", store.schema]) == 0
    assert f"version 1 -> {SCHEMA_VERSION}" in capsys.readouterr().out
    pool = StockPool.connect(store.dsn, schema=store.schema)
    assert pool.capacity_left.tolist()[:2] == [3, NO_LIMIT]
    # The reservations made before the upgrade close under the new functions.
    pool.release(held.reservation_id)
    pool.commit(got[0][1])
    assert pool.capacity_left.tolist()[:2] == [5, NO_LIMIT]
    assert pool.free("S1", "A") == 1 and pool.reservations() == []
    pool.close()


def test_connect_rebuilds_the_same_pool_from_the_database(
    pg_store: Callable[[], PostgresStore],
) -> None:
    store = pg_store()
    pool = StockPool.from_scenario(scenario(), store=store)
    pool.adjust("S1", "C", -2, "count")  # a row at zero
    pool.receive_return("o", "S2", "ZZ", 1, restock=False)  # a new row
    res = pool.reserve("o", [("W1", "B", 2)], ttl=5)
    pool.commit(res.reservation_id, [("W1", "B", 1)])  # a partial commit
    again = StockPool.connect(store.dsn, schema=store.schema)
    assert again.stock().equals(pool.stock())
    assert again.reservations() == pool.reservations()
    assert again.capacity_left.tolist() == pool.capacity_left.tolist()
    assert again.free_left.tolist() == pool.free_left.tolist()
    again.close()
    pool.close()


def test_a_database_newer_than_the_library_is_refused(
    pg_store: Callable[[], PostgresStore],
) -> None:
    store = pg_store()
    store.migrate()
    store.query(
        "UPDATE os_meta SET value = '99' WHERE name = 'schema_version' RETURNING 1"
    )
    with pytest.raises(StoreError, match="is at version 99"):
        store.migrate()
    store.close()


# -- contract v1.2: the protection table lives in the database -----------------------


def test_a_protection_table_loads_and_every_replica_reads_it(pg_store) -> None:
    """A v1.2 table is kept in SQL; set_protection in one replica reaches the others."""
    base = scenario().model_dump(mode="json")
    tiered = {
        **base,
        "protection": [{"node": "W1", "sku": "A", "tier": "gold", "units": 5}],
    }
    store = pg_store()
    pool = StockPool.from_scenario(type(scenario()).model_validate(tiered), store=store)
    other = StockPool.connect(store.dsn, schema=store.schema)
    # W1/A: free 8 (10 on hand, 2 safety); gold leaves 5, vip (exempt) none.
    assert [other.free("W1", "A", tier=t) for t in ("gold", "vip")] == [3, 8]
    with pytest.raises(InsufficientStock, match="Protected units"):
        other.reserve("o1", [("W1", "A", 4)], tier="gold")
    res = other.reserve("o1", [("W1", "A", 3)], tier="gold")
    assert (res.tier, pool.keyed("x"), pool.reservations()[0].tier) == (
        "gold",
        None,
        "gold",
    )
    pool.set_protection([{"node": "W1", "sku": "A", "tier": "gold", "units": 1}])
    assert other.free("W1", "A", tier="gold") == 4  # the database's answer, now
    other.refresh()  # the local copy (what a Sourcer reads) follows
    row = other._state.row("W1", "A")
    gold = other.network.levels.tier_class("gold")
    assert other.network.protection == (("W1", "A", "gold", 1),)
    assert int(other.head_left[row, gold]) == 4
    # An amend keeps the tier, checked against the new table.
    new = other.amend(res.reservation_id, [("W1", "A", 7)])
    assert (new.tier, other.free("W1", "A", tier="gold")) == ("gold", 0)
    again = StockPool.connect(store.dsn, schema=store.schema)
    assert again.network.protection == (("W1", "A", "gold", 1),)
    assert again.reservations() == [new]
    for p in (pool, other, again):
        p.close()


def test_the_general_calls_answer_one_line_as_the_hot_path_does(
    pg_store: Callable[[], PostgresStore],
) -> None:
    # os_reserve and os_close with one line (another client's way in) go by
    # os_reserve1 / os_close1: same counters, a node without a limit untouched.
    store = pg_store()
    pool = StockPool.from_scenario(scenario(), store=store)
    got = store.call("os_reserve", "o1", "k1", None, True, ["S1"], ["A"], [2])
    assert [ch[0] for ch in got] == ["r", "s"] and got[1][3:5] == (3, 2)
    again = store.call("os_reserve", "o1", "k1", None, True, ["S1"], ["A"], [2])
    assert again[0][:2] == ("k", got[0][1]) and list(again[0][14:]) == [
        ["S1"],
        ["A"],
        [2],
    ]
    pool.refresh()
    assert pool.free("S1", "A") == 1 and pool.capacity_left.tolist()[1] == NO_LIMIT
    # Closed by a replica that did not make it: the general call, same answer.
    closed = pool.release(got[0][1])
    assert (closed.lines, pool.status(got[0][1]), pool.free("S1", "A")) == (
        (("S1", "A", 2),),
        "released",
        3,
    )
    assert pool.free_left[pool._state.row("S1", "A")] == 3
    pool.close()


def test_snapshot_names_the_database_backup_instead(
    pg_store: Callable[[], PostgresStore], tmp_path: Path
) -> None:
    store = pg_store()
    pool = StockPool.from_scenario(scenario(), store=store)
    with pytest.raises(InvalidRequest, match=f"pg_dump --schema={store.schema}"):
        pool.snapshot(tmp_path / "snap")
    assert not (tmp_path / "snap").exists()
    pool.close()
