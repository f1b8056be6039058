"""Partitioned solve and re-plan on executors: same plans as in process, faults survived."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from omnistock import replan, samples, solve
from omnistock.model.scenario import Scenario
from omnistock.solvers.optimal.candidates import candidates, components

distributed = pytest.importorskip(
    "distributed",
    reason="the dask extra is not installed (pip install 'omnistock[dask]')",
)

from omnistock.scale import make_executor  # noqa: E402

# polars and numba keep threads: worker processes are spawned, not forked.
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture(autouse=True)
def _no_hang() -> object:
    """A test of a cluster with killed workers that hangs ends the run with stacks.

    Seen once (of ~10 runs) while these tests were written: the run waited ten
    minutes. A stalled test now dumps every thread's stack and exits after 300 s
    instead of holding CI for its whole limit (the dump says where it waited).
    """
    import faulthandler

    faulthandler.dump_traceback_later(300, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def small() -> Scenario:
    net = samples.network("small", seed=1)
    return net.with_orders(samples.orders(net, 1500, seed=3))


@pytest.fixture(scope="module")
def provable() -> Scenario:
    net = samples.network("small", seed=2)
    return net.with_orders(samples.orders(net, 150, seed=5))


@pytest.fixture(scope="module")
def client() -> object:
    with make_executor(workers=2) as executor:
        yield executor


def _n_components(scenario: Scenario) -> int:
    compiled = scenario.compiled()
    return int(components(compiled, candidates(compiled)).max()) + 1


def test_greedy_on_a_local_cluster_is_the_in_process_plan(
    small: Scenario, client: Executor
) -> None:
    here = solve(small, solver="greedy")
    there = solve(small, solver="greedy", executor=client)
    assert there.allocations.equals(here.allocations)
    assert there.objective == pytest.approx(here.objective, rel=1e-12)
    assert there.info["tasks"] > 1
    assert there.info["components"] == _n_components(small)
    assert there.info["fallback_components"] == []
    there.check(small)


def test_greedy_on_a_process_pool_is_the_in_process_plan(small: Scenario) -> None:
    here = solve(small, solver="greedy")
    with ProcessPoolExecutor(2, mp_context=SPAWN) as pool:
        there = solve(small, solver="greedy", executor=pool)
    assert there.allocations.equals(here.allocations)


def test_optimal_on_a_local_cluster_finds_the_same_optimum(
    provable: Scenario, client: Executor
) -> None:
    here = solve(provable, solver="optimal", time_limit=30)
    there = solve(provable, solver="optimal", time_limit=30, executor=client)
    assert here.status == "optimal"
    assert there.status == "optimal"
    assert there.objective == pytest.approx(here.objective, rel=1e-9)
    # The bound is the sum of the components' bounds: proven, it meets the objective.
    assert there.bound == pytest.approx(there.objective, rel=1e-9)
    assert there.gap == pytest.approx(0.0, abs=1e-9)
    there.check(provable)


def test_replan_on_a_local_cluster_saves_what_it_saves_in_process(
    provable: Scenario, client: Executor
) -> None:
    plan = solve(provable, solver="greedy")
    frozen = [str(o.id) for o in provable.orders[:20]]
    here = replan(provable, plan, frozen=frozen, solver="optimal", time_limit=30)
    there = replan(
        provable, plan, frozen=frozen, solver="optimal", time_limit=30, executor=client
    )
    assert here.plan.status == there.plan.status == "optimal"
    assert there.saving == pytest.approx(here.saving, rel=1e-9)
    there.plan.check(provable)
    kept = there.plan.allocations.filter(
        there.plan.allocations["order_id"].is_in(frozen)
    )
    assert kept.equals(
        plan.allocations.filter(plan.allocations["order_id"].is_in(frozen))
    )


class _Refusing(ThreadPoolExecutor):
    """Every task's worker is lost: each attempt raises."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        def lost(*_: object) -> None:
            msg = "worker lost"
            raise ConnectionResetError(msg)

        return super().submit(lost, *args)


def test_a_component_that_fails_twice_is_solved_by_greedy_in_the_driver(
    provable: Scenario,
) -> None:
    with _Refusing(2) as pool:
        plan = solve(provable, solver="optimal", time_limit=10, executor=pool)
    n_comp = _n_components(provable)
    assert plan.info["fallback_components"] == list(range(n_comp))
    assert plan.info["retried_tasks"] == list(range(plan.info["tasks"]))
    assert "ConnectionResetError" in plan.info["fallback_errors"][0]
    assert plan.status == "feasible"
    # Greedy on independent components is greedy on the batch.
    assert plan.allocations.equals(solve(provable, solver="greedy").allocations)
    plan.check(provable)


def test_a_pool_whose_workers_were_killed_still_gives_a_checked_plan(
    small: Scenario,
) -> None:
    pool = ProcessPoolExecutor(2, mp_context=SPAWN)
    try:
        pids = {pool.submit(os.getpid).result() for _ in range(8)}
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        plan = solve(small, solver="greedy", executor=pool)
    finally:
        pool.shutdown(wait=False)
    assert plan.info["fallback_components"] == list(range(_n_components(small)))
    assert "BrokenProcessPool" in plan.info["fallback_errors"][0]
    assert plan.allocations.equals(solve(small, solver="greedy").allocations)
    plan.check(small)


def test_killing_a_cluster_worker_mid_solve_still_gives_a_checked_plan() -> None:
    net = samples.network("small", seed=4)
    scenario = net.with_orders(samples.orders(net, 1500, seed=6))
    with make_executor(workers=2) as client:
        pids = client.run(os.getpid)  # type: ignore[attr-defined]
        hit: list[str] = []

        def kill_a_busy_worker() -> None:
            for _ in range(2000):
                busy = [w for w, keys in client.processing().items() if keys]  # type: ignore[attr-defined]
                if busy:
                    hit.append(busy[0])
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    return
                time.sleep(0.005)

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        plan = solve(scenario, solver="optimal", time_limit=8, executor=client)
        killer.join()
    assert hit, "no task was running when the killer looked"
    plan.check(scenario)
    assert plan.bound is not None
    assert plan.bound <= plan.objective + 1e-6
    assert np.isfinite(plan.objective)
