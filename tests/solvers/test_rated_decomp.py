"""``optimal`` on contract v1.1 batches through the decomposition (issue 14).

The decomposition's module constants are lowered so that the small random
scenarios go through every step a large batch takes: one model per component,
a first restricted LP of one package per line, column generation pricing a few
packages in at a time, and reduced-cost fixing capped at a few packages (the
MILP then widens towards a proof). The oracle is the independent MILP of
tests/milp_reference.py (with tests/rates_reference.py for the v1.1 terms).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from omnistock import Scenario, SolveStatus, samples, solve
from omnistock.check import plan_violations
from omnistock.solvers.optimal import colgen, model, solver
from omnistock.solvers.optimal.bounds import fallback_bound, line_split_bound
from omnistock.solvers.optimal.colgen import column_generation, initial_pairs
from omnistock.solvers.optimal.line_flow import flow_plan, line_flow
from omnistock.solvers.optimal.rated_decomp import rated_candidates
from omnistock.testing import scenarios
from tests.helpers import plan_of
from tests.milp_reference import reference_optimum

_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def no_initial_pairs(compiled, cand, order_mask=None):  # type: ignore[no-untyped-def]
    """No package to start from (``colgen.initial_pairs``' signature)."""
    return np.zeros(cand.pair_order.shape[0], dtype=np.bool_)


@contextmanager
def small_models() -> Iterator[list[int]]:
    """The decomposition at toy sizes; yields a list counting LP rounds run."""
    rounds: list[int] = []
    real = colgen.column_generation

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(*args, **kwargs)
        rounds.append(out.rounds)
        return out

    def no_whole_batch_milp(*args, **kwargs):  # type: ignore[no-untyped-def]
        msg = "a v1.1 batch without lockers took the one-MILP path"
        raise AssertionError(msg)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(solver, "_MODEL_VARS", 1)
        mp.setattr(colgen, "ENTER_MIN", 1)
        mp.setattr(model, "_MIP_PACKAGES", 2)
        # The first restricted LP holds the warm start's packages only (none
        # without one): column generation prices every other package in.
        mp.setattr(model, "initial_pairs", no_initial_pairs)
        mp.setattr(model, "column_generation", counted)
        mp.setattr(solver, "solve_rated", no_whole_batch_milp)
        yield rounds


_UNFILLED = st.sampled_from((None, 3.0, 80.0))
_CHARGE = st.sampled_from((None, 0.0, 400.0))


def carrier_batch(
    scale: int, seed: int, overrides: list[tuple[float | None, float | None] | None]
) -> Scenario:
    """Orders on "small" with carrier costs: 33 nodes, stock cut down by ``scale``.

    One order per entry of ``overrides``: its own unfilled unit and order costs,
    or None for the scenario's. With many nodes per line the decomposition
    prices packages in over several LP rounds.
    """
    data = samples.network("small", 0, costs="carrier").model_dump()
    for row in data["stock"]:
        for key in ("on_hand", "reserved", "safety_stock"):
            row[key] //= scale
    net = Scenario.model_validate(data)
    orders = []
    for order, own in zip(
        samples.orders(net, len(overrides), seed=seed), overrides, strict=True
    ):
        fields = order.model_dump()
        if own is not None:
            fields["unfilled_unit_cost"], fields["unfilled_order_cost"] = own
        orders.append(type(order).model_validate(fields))
    return net.with_orders(orders)


#: The arguments of :func:`carrier_batch` (small to print when a case fails).
carrier_batches = st.tuples(
    st.sampled_from((1, 2, 4, 8)),
    st.integers(0, 9999),
    st.lists(st.none() | st.tuples(_UNFILLED, _CHARGE), min_size=2, max_size=25),
)


#: Random v1.1 scenarios (every rule) or carrier batches.
_ANY_V1_1 = st.one_of(
    scenarios(max_nodes=6, max_skus=2, min_orders=1, max_orders=8, rates=True),
    carrier_batches.map(lambda args: carrier_batch(*args)),
)


def _equals_the_reference(s: Scenario, warm_start: bool) -> None:
    with small_models():
        plan = solve(s, solver="optimal", warm_start=warm_start)
    assert plan_violations(plan, s) == []
    ref = reference_optimum(s)
    assert math.isclose(plan.objective, ref.objective, rel_tol=1e-7, abs_tol=1e-5)
    assert plan.bound is not None
    assert plan.bound <= plan.objective + 1e-6 * (1.0 + abs(plan.objective))
    # OPTIMAL only when proven; a MILP capped by the tiny _MIP_PACKAGES may end
    # at the optimum unproven (FEASIBLE), never worse.
    assert plan.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


@_SETTINGS
@given(
    scenarios(max_nodes=8, max_skus=2, min_orders=2, max_orders=10, rates=True),
    st.booleans(),
)
def test_decomposition_equals_the_reference_milp(s, warm_start):
    """Tests optimal against the independent MILP on random v1.1 scenarios (every rule)."""
    _equals_the_reference(s, warm_start)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(carrier_batches, st.booleans())
def test_decomposition_equals_the_reference_milp_on_carrier_batches(args, warm_start):
    """Tests optimal against the independent MILP on scarce carrier-cost batches."""
    _equals_the_reference(carrier_batch(*args), warm_start)


def test_the_small_models_run_column_generation():
    """Tests that the lowered constants make column generation price packages in."""
    net = samples.network("small", seed=2, costs="carrier")
    s = net.with_orders(samples.orders(net, 60, seed=2))
    with small_models() as rounds:
        plan = solve(s, solver="optimal")
    assert plan_violations(plan, s) == []
    assert max(rounds) >= 2  # some model priced a package into its first LP
    assert plan.bound is not None and plan.bound <= plan.objective


def _one_unit(s: Scenario) -> Scenario:
    """``s`` with each order cut to its first line and one unit."""
    data = s.model_dump()
    for order in data["orders"]:
        order["lines"] = [{"sku": order["lines"][0]["sku"], "qty": 1}]
    return Scenario.model_validate(data)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(carrier_batches)
def test_one_unit_orders_take_the_flow_exactly_under_v1_1(args):
    """Tests the unit-order min-cost flow with unit extras, band packages and charges."""
    s = _one_unit(carrier_batch(*args))
    plan = solve(s, solver="optimal", warm_start=False)  # the flow's plan, not greedy's
    assert plan_violations(plan, s) == []
    assert plan.info["models"] == 0  # every component by the flow
    ref = reference_optimum(s)
    assert math.isclose(plan.objective, ref.objective, rel_tol=1e-7, abs_tol=1e-5)
    assert plan.bound is not None
    assert plan.bound <= ref.objective + 1e-6 * (1.0 + abs(ref.objective))


@_SETTINGS
@given(_ANY_V1_1)
def test_first_lp_bounds_are_valid_under_v1_1(s):
    """Tests that one restricted LP's Lagrangian and line-split bounds stay below the optimum.

    They are what a model stopped by its time limit reports: the line-split bound
    prices each line's unit extra and the orders' own unfilled costs.
    """
    compiled = s.compiled()
    cand = rated_candidates(compiled)
    assume(cand.line.size > 0)  # an LP needs a column
    mask = np.ones(compiled.orders.n_orders, dtype=np.bool_)
    ref = reference_optimum(s).objective
    tol = 1e-6 * (1.0 + abs(ref))
    assert fallback_bound(compiled, cand, mask, None, None) <= ref + tol
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(colgen, "START_PER_LINE", 1)
        pairs = initial_pairs(compiled, cand, mask)
        now = time.perf_counter()
        cg = column_generation(compiled, cand, mask, pairs, now + 30.0, now)
    assert cg.lower <= ref + tol
    assert cg.line_lower <= ref + tol


@pytest.mark.slow
def test_time_limited_carrier_batch_returns_checked_plan_with_bound():
    """Tests that a short limit on 3,000 carrier orders gives a checked plan and a valid bound."""
    net = samples.network("medium", seed=3, costs="carrier")
    s = net.with_orders(samples.orders(net, 3000, seed=3))
    plan = solve(s, solver="optimal", time_limit=4.0)
    plan.check(s)
    assert plan.info.get("rated") is None  # the decomposition, not the one MILP
    assert plan.bound is not None
    assert 0.0 < plan.bound <= plan.objective
    assert plan.status != SolveStatus.OPTIMAL or plan.bound >= plan.objective - 1e-6
    assert plan.objective <= solve(s, solver="greedy").objective + 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(_ANY_V1_1)
def test_line_flow_bound_and_plan_are_valid_under_v1_1(s):
    """Tests the line-split flow with unit extras, band packages and the charge spread.

    Its bound at its own prices reaches its optimum (strong duality: the flow and
    the bound relax the charge the same way) and stays below the v1.1 optimum;
    its plan keeps every rule.
    """
    compiled = s.compiled()
    cand = rated_candidates(compiled)
    assume(cand.line.size > 0)
    flow = line_flow(compiled, cand, np.ones(compiled.orders.n_lines, dtype=np.bool_))
    assert flow is not None
    everything = np.ones(compiled.orders.n_orders, dtype=np.bool_)
    bound = line_split_bound(compiled, cand, everything, flow.prices)
    ref = reference_optimum(s).objective
    tol = 1e-6 * (1.0 + abs(ref))
    assert bound >= flow.cost - tol
    assert bound <= ref + tol
    if not any(o.all_or_nothing for o in s.orders):  # nothing kept whole: equal
        # (the flow's costs are rounded down to 1/1000 a unit)
        units = int(compiled.orders.line_qty.sum())
        assert bound <= flow.cost + 1e-3 * units + tol
    result = flow_plan(compiled, cand, everything)
    assert result is not None
    assert result.bound <= ref + tol
    plan = plan_of(s, result.triples)
    assert plan_violations(plan, s) == []
    assert plan.objective >= ref - tol


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(carrier_batches)
def test_optimal_through_the_flow_path_reaches_the_v1_1_optimum(args):
    """Tests that a v1.1 model starting from the flow path is still solved exactly."""
    s = carrier_batch(*args)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(model, "flow_first", lambda *a: True)
        plan = solve(s, solver="optimal", warm_start=False)
    assert plan_violations(plan, s) == []
    ref = reference_optimum(s).objective
    assert math.isclose(plan.objective, ref, rel_tol=1e-7, abs_tol=1e-5)
    assert plan.status == SolveStatus.OPTIMAL
