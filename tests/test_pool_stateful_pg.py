"""The stateful model test of the pool (tests/test_pool_stateful.py) on PostgreSQL.

Every operation rule and every invariant of the in-process machine runs on a
PostgreSQL pool against the same plain model, errors and their fields
included (its ``free(..., tier=...)`` too: with no table, a tier only sets
the exemption). The journal's rules (snapshot, crash and recover, torn records) do
not apply; a replica restart (close, then ``StockPool.connect``) takes their
place.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from omnistock import StockPool
from omnistock.compiled.network import NO_LIMIT
from omnistock.pool.pgstore import PostgresStore
from tests.pg_server import missing_reason, shared_dsn
from tests.test_pool_stateful import NODE_IDS, SCENARIO, SKUS, PoolMachine

_schemas = itertools.count()


class PostgresPoolMachine(PoolMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pool.close()  # the in-process pool the parent made: not used
        self.store = PostgresStore(
            shared_dsn(), schema=f"s{os.getpid()}_{next(_schemas)}"
        )
        self.pool = StockPool.from_scenario(
            SCENARIO, store=self.store, clock=self.clock
        )

    def teardown(self) -> None:
        super().teardown()
        self.store.close()

    def capacities(self) -> list[int]:
        """A node without a limit reads NO_LIMIT on PostgreSQL (never counted down)."""
        return [NO_LIMIT if c >= 2**60 else c for c in super().capacities()]

    # The journal's rules, replaced (a method without @rule is no rule).
    def snapshot(self) -> None:
        raise NotImplementedError

    def torn_record_then_recover(self) -> None:  # type: ignore[override]
        raise NotImplementedError

    def crash_and_recover(self) -> None:
        raise NotImplementedError

    # Tiers and a protection table (contract v1.2) likewise: the database keeps
    # v1's rule and refuses both with StoreError (tests/test_pool_pg.py). Its
    # reserve rule draws no tier (reservations at the locker it keeps).
    def reserve_at_a_tier(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def set_protection(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def reserve(self, *args: Any, **kwargs: Any) -> None:  # a helper here, no rule
        super().reserve(*args, **kwargs)

    @rule(
        lines=st.lists(
            st.tuples(
                st.sampled_from(NODE_IDS), st.sampled_from(SKUS), st.integers(1, 4)
            ),
            min_size=1,
            max_size=3,
        ),
        key=st.none() | st.sampled_from(["k1", "k2", "k3"]),
        ttl=st.none() | st.sampled_from([5.0, 20.0]),
        exempt=st.booleans(),
        order=st.sampled_from(["o1", "o2"]),
        locker=st.none() | st.just("L1"),
    )
    def reserve_without_a_tier(
        self,
        lines: list[tuple[str, str, int]],
        key: str | None,
        ttl: float | None,
        exempt: bool,
        order: str,
        locker: str | None,
    ) -> None:
        self.reserve(lines, key, ttl, exempt, order, locker)

    @rule()
    def restart_the_replica(self) -> None:
        self.pool.close()
        self.pool = StockPool.connect(
            self.store.dsn, schema=self.store.schema, clock=self.clock
        )


TestPostgresPoolMachine = PostgresPoolMachine.TestCase
# A database round trip per call: fewer examples than in process keep CI short.
TestPostgresPoolMachine.settings = settings(
    TestPostgresPoolMachine.settings, max_examples=25
)
if missing_reason() is not None:
    TestPostgresPoolMachine = pytest.mark.skip(reason=str(missing_reason()))(
        TestPostgresPoolMachine
    )
