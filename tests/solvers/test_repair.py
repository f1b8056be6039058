"""repair.complete: fill what a plan left unfilled, for the orders of a mask only."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from omnistock.solvers.optimal.candidates import candidates
from omnistock.solvers.optimal.repair import complete
from omnistock.testing import scenarios
from tests.helpers import make_scenario, plan_of
from tests.milp_reference import reference_optimum


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3),
    data=st.data(),
)
def test_completed_plan_obeys_every_rule_and_touches_only_its_orders(scenario, data):
    """Tests that completing the empty plan for some orders gives a feasible plan of them.

    The plan passes the checker, ships nothing for orders outside the mask, and
    (with every order in the mask) costs at least the oracle's optimum.
    """
    assume(len(scenario.orders) > 0)
    compiled = scenario.compiled()
    n = compiled.orders.n_orders
    mask = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    cand = candidates(compiled)
    triples = complete(compiled, cand, np.empty((0, 3), dtype=np.int64), mask)
    plan = plan_of(scenario, triples)
    plan.check(scenario)
    assert np.all(mask[compiled.orders.line_order[triples[:, 0]]])
    if mask.all():
        optimum = reference_optimum(scenario).objective
        assert plan.objective >= optimum - 1e-6 * max(1.0, abs(optimum))


def test_triples_of_orders_outside_the_mask_are_ignored():
    """Tests that a triple of another order neither ships nor takes stock.

    o1 (outside the mask) claims the 3 units at S; o2, completed alone, still
    finds them (the cheaper node for Lyon), and o1's triple is not returned.
    """
    scenario = make_scenario(
        orders=[
            {
                "id": f"o{i}",
                "destination": {"lat": 45.75, "lon": 4.85},
                "lines": [{"sku": "A", "qty": 3}],
            }
            for i in (1, 2)
        ],
    )
    compiled = scenario.compiled()
    cand = candidates(compiled)
    s_node = list(compiled.network.node_ids).index("S")
    other = np.array([[0, s_node, 3]], dtype=np.int64)  # line 0 is o1's
    mask = np.array([False, True])
    triples = complete(compiled, cand, other, mask)
    assert triples.tolist() == [[1, s_node, 3]]
