"""Session fixtures and hypothesis profiles (select with HYPOTHESIS_PROFILE)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.pg_server import missing_reason, shared_dsn

settings.register_profile(
    "dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)


# -- the two pool stores (the conformance suite: tests/test_pool*.py) ---------------


_schemas = itertools.count()


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The DSN of a PostgreSQL server started for this session (skipped without one)."""
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    return shared_dsn()  # stopped when the session's process exits


@pytest.fixture
def pg_store(pg_dsn: str) -> Iterator[Callable[[], Any]]:
    """Make PostgresStores on fresh schemas; their connections close at teardown."""
    from omnistock.pool.pgstore import PostgresStore

    made: list[PostgresStore] = []

    def make() -> PostgresStore:
        made.append(PostgresStore(pg_dsn, schema=f"t{os.getpid()}_{next(_schemas)}"))
        return made[-1]

    yield make
    for store in made:
        store.close()


@pytest.fixture(params=["memory", "postgres"])
def pool_store(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Run the test on each store: ``StockPool.from_scenario`` opens it on PostgreSQL.

    A test of the journal (an option only the in-process store has) is
    skipped on PostgreSQL, whose durability is the database's.
    """
    if request.param == "memory":
        yield "memory"
        return
    make = request.getfixturevalue("pg_store")
    from omnistock import StockPool

    plain = StockPool.from_scenario.__func__  # type: ignore[attr-defined]

    def from_scenario(cls: type, scenario: Any, **options: Any) -> Any:
        if options.get("store") is not None:
            return plain(cls, scenario, **options)
        if set(options) - {"clock"}:
            pytest.skip(f"in-process store options {sorted(options)}")
        return plain(cls, scenario, store=make(), **options)

    monkeypatch.setattr(StockPool, "from_scenario", classmethod(from_scenario))
    yield "postgres"
