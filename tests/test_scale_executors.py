"""How shared inputs reach workers once, and what make_executor accepts."""

from __future__ import annotations

import os
import pickle

import pytest

from omnistock import (
    InvalidArgument,
    make_executor,
    replan,
    samples,
    simulate_many,
    solve,
)
from omnistock.scale.executors import Shipped, release, resolve, ship


def test_a_shipped_object_is_written_once_and_read_once_per_process() -> None:
    handle = Shipped({"network": list(range(1000))})
    blob = pickle.dumps(handle)
    assert len(blob) < 200  # a token and a path, not the object
    first = pickle.loads(blob)
    assert resolve(first) == handle.obj
    path = handle._path
    assert path is not None
    os.unlink(path)  # gone: a second task can only be served from this process's cache
    second = pickle.loads(pickle.dumps(handle))
    assert resolve(second) is resolve(first)
    release(handle)
    assert handle._path is None


def test_release_removes_the_file() -> None:
    ref = ship(None, [1, 2, 3])
    pickle.dumps(ref)
    path = ref._path
    assert path is not None
    assert os.path.exists(path)
    release(ref)
    assert not os.path.exists(path)


def test_no_scheduler_and_no_workers_is_in_process() -> None:
    with make_executor() as executor:
        assert executor is None


@pytest.mark.parametrize("workers", [0, -2])
def test_workers_below_one_are_refused(workers: int) -> None:
    with (
        pytest.raises(
            InvalidArgument, match=f"workers must be >= 1. Got workers={workers}"
        ),
        make_executor(workers=workers),
    ):
        pass


def test_an_executor_that_is_not_one_is_named() -> None:
    net = samples.network("small", seed=1)
    scenario = net.with_orders(samples.orders(net, 5, seed=1))
    plan = solve(scenario)
    calls = [
        ("solve", lambda: solve(scenario, executor="tcp://x:8786")),
        ("replan", lambda: replan(scenario, plan, executor="tcp://x:8786")),
        (
            "simulate_many",
            lambda: simulate_many(
                [{"network": net, "n_orders": 5}], executor="tcp://x:8786"
            ),
        ),
    ]
    for function, call in calls:
        with pytest.raises(
            InvalidArgument, match=f"^{function}: executor must be"
        ) as err:
            call()
        assert "Got a str" in str(err.value)
