"""Column generation keeps its time limit: nothing long starts after the deadline.

No timed assert: a fake clock jumps past every deadline as soon as the first LP
has been solved, and the test counts what ran after it.
"""

from __future__ import annotations

import time
import types

import numpy as np
import pytest

import omnistock.solvers.optimal.bounds as bounds
import omnistock.solvers.optimal.colgen as colgen
import omnistock.solvers.optimal.model as model
from omnistock import samples
from omnistock.solvers.base import SolveStatus
from omnistock.solvers.optimal.candidates import candidates
from omnistock.solvers.optimal.incumbents import triples_of, warm_start_solution
from omnistock.solvers.optimal.options import OptimalOptions


@pytest.fixture(scope="module")
def mid_size():
    net = samples.network("medium", seed=3)
    scenario = net.with_orders(samples.orders(net, 2000, seed=3))
    compiled = scenario.compiled()
    return compiled, candidates(compiled)


def test_nothing_long_starts_once_the_first_lp_has_used_the_time(mid_size, monkeypatch):
    """Tests that after a deadline: no 2nd LP round, one line-split pass, no MILP.

    The model gets an hour; the fake clock jumps two hours once the first LP
    returns. What may still run is bounded: the one bound pass the model needs
    and the repair of the incumbents.
    """
    compiled, cand = mid_size
    jump = {"offset": 0.0}
    fake = types.SimpleNamespace(
        perf_counter=lambda: time.perf_counter() + jump["offset"]
    )
    for module in (model, colgen, bounds):
        monkeypatch.setattr(module, "time", fake, raising=False)
    calls = {"lp": 0, "split": 0, "milp": 0}
    real_lp, real_split = colgen.solve_lp, bounds.line_split_bound

    def lp(*args, **kwargs):
        calls["lp"] += 1
        result = real_lp(*args, **kwargs)
        jump["offset"] = 7200.0
        return result

    def split(*args, **kwargs):
        calls["split"] += 1
        return real_split(*args, **kwargs)

    def milp(*args, **kwargs):
        calls["milp"] += 1
        msg = "a MILP started after the deadline"
        raise AssertionError(msg)

    monkeypatch.setattr(colgen, "solve_lp", lp)
    monkeypatch.setattr(bounds, "line_split_bound", split)
    monkeypatch.setattr(model, "solve_milp", milp)
    monkeypatch.setattr(model, "flow_first", lambda *a: False)
    everything = np.ones(compiled.orders.n_orders, dtype=np.bool_)
    warm = triples_of(warm_start_solution(compiled))
    options = OptimalOptions(gap=0.0)
    result = model.solve_model(compiled, cand, everything, warm, options, 3600.0)
    assert calls == {"lp": 1, "split": 1, "milp": 0}
    assert result.lp_rounds == 1
    assert result.status in (SolveStatus.TIME_LIMIT, SolveStatus.FEASIBLE)
    assert np.isfinite(result.bound)


def test_with_time_left_every_price_vector_is_tried(mid_size):
    """Tests that the deadline only cuts: with time, the bound is the best of all vectors."""
    compiled, cand = mid_size
    everything = np.ones(compiled.orders.n_orders, dtype=np.bool_)
    vectors = bounds.shortage_prices(compiled, everything)
    best = max(bounds.line_split_bound(compiled, cand, everything, p) for p in vectors)
    assert bounds.fallback_bound(compiled, cand, everything, None, None) == best
    first = bounds.line_split_bound(compiled, cand, everything, vectors[0])
    past = time.perf_counter() - 1.0
    assert bounds.fallback_bound(compiled, cand, everything, None, None, past) == first
