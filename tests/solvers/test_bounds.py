"""The lower bounds column generation reports, against the independent MILP."""

from __future__ import annotations

import time

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from omnistock.solvers.colgen import column_generation, initial_pairs, line_split_bound
from omnistock.solvers.components import candidates
from omnistock.solvers.fixed_charge import build_milp
from omnistock.testing import scenarios
from tests.helpers import make_scenario
from tests.milp_reference import reference_optimum

SLACK = 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.0, 1.0, 100.0, 2_000.0]),
)
def test_line_split_bound_never_exceeds_the_optimum(scenario, seed, scale):
    """Tests that the line-split bound is valid for any non-positive duals.

    Random duals on every relaxed row (stock, protection, capacity, split) and
    the duals of a one-round restricted LP both give a bound at or below the
    reference MILP's optimum.
    """
    assume(len(scenario.orders) > 0)
    compiled = scenario.compiled()
    cand = candidates(compiled)
    everything = np.ones(compiled.orders.n_orders, dtype=np.bool_)
    data = build_milp(compiled, cand, everything, all_constraints=True)
    optimum = reference_optimum(scenario).objective
    tol = SLACK * max(1.0, abs(optimum))
    rng = np.random.default_rng(seed)
    duals = np.zeros(data.lo.shape[0])
    tail = slice(data.first_split_row, None)
    duals[tail] = -scale * rng.random(duals[tail].shape[0])
    assert line_split_bound(compiled, cand, data, duals, everything) <= optimum + tol

    start = time.perf_counter()
    cg = column_generation(
        compiled,
        cand,
        everything,
        initial_pairs(compiled, cand),
        start + 30.0,
        start - 1.0,  # one round only: the duals of an unconverged LP
    )
    assert cg.lower <= optimum + tol
    if cg.data is not None and cg.lp is not None:
        bound = line_split_bound(compiled, cand, cg.data, cg.lp.duals, everything)
        assert bound <= optimum + tol
        assert cg.line_lower == (-np.inf if cg.converged else bound)


def test_line_split_bound_is_tight_on_one_line_orders():
    """Tests that with zero duals the bound is each order's own cheapest plan.

    One order of one line with stock enough at either node: the bound is that
    order's optimum.
    """
    scenario = make_scenario()  # one order of 2 units; W holds 10, S holds 3
    assert (
        abs(_zero_dual_bound(scenario) - reference_optimum(scenario).objective) <= 1e-6
    )


def test_line_split_bound_charges_a_shared_package_once():
    """Tests that two lines shipped in one package share its fixed cost.

    Both lines can only come from W: the optimum pays W's package once, and the
    bound (zero duals) must not charge it twice.
    """
    scenario = make_scenario(
        stock=[
            {"node": "W", "sku": "A", "on_hand": 5},
            {"node": "W", "sku": "B", "on_hand": 5},
        ],
        orders=[
            {
                "id": "o1",
                "destination": {"lat": 45.75, "lon": 4.85},
                "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 3}],
            }
        ],
        costs={"package": 7.0, "per_km": 0.01, "unfilled": 1_000.0},
    )
    assert (
        abs(_zero_dual_bound(scenario) - reference_optimum(scenario).objective) <= 1e-6
    )


def _zero_dual_bound(scenario):
    """The line-split bound of the whole batch with every dual at 0."""
    compiled = scenario.compiled()
    cand = candidates(compiled)
    everything = np.ones(compiled.orders.n_orders, dtype=np.bool_)
    data = build_milp(compiled, cand, everything, all_constraints=True)
    zero = np.zeros(data.lo.shape[0])
    return line_split_bound(compiled, cand, data, zero, everything)
