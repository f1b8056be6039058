"""The branch-and-bound's tie rule, pruning test and relaxation bound."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from omnistock._kernels.subsets import (
    TIE_TOL,
    Incumbent,
    Subproblem,
    better,
    prunable,
    relaxed,
)
from omnistock._kernels.transport import allocate

ranks = st.tuples(
    st.sampled_from([10.0, 10.0 + 1e-12, 11.0]),
    st.integers(1, 3),
    st.integers(0, 4),
    st.lists(st.integers(0, 5), min_size=3, max_size=3),
)


def _inc(cost, packages, prio, nodes):
    return Incumbent(
        cost, packages, prio, np.array(sorted(nodes)[:packages], dtype=np.int64)
    )


@given(ranks, ranks)
def test_better_is_cost_then_packages_priority_nodes(a, b):
    """Tests the tie rule against a plain lexicographic comparison."""
    new, inc = _inc(*a), _inc(*b)
    tied = abs(new.cost - inc.cost) <= TIE_TOL * (1 + abs(inc.cost))
    if not tied:
        expected = new.cost < inc.cost
    else:
        expected = (new.packages, new.prio, new.nodes.tolist()) < (
            inc.packages,
            inc.prio,
            inc.nodes.tolist(),
        )
    assert better(new, inc) == expected


def test_prunable_keeps_a_tie_with_fewer_packages():
    """Tests that an equal bound prunes only when it needs more packages."""
    inc = Incumbent(10.0, 2, 0, np.array([0, 1], dtype=np.int64))
    assert prunable(10.5, 1, inc)
    assert not prunable(10.0, 1, inc)  # could tie with one package fewer
    assert prunable(10.0, 3, inc)
    assert not prunable(9.0, 3, inc)


subproblems = st.integers(1, 4).flatmap(
    lambda m: st.tuples(
        st.lists(
            st.lists(st.integers(0, 3), min_size=2, max_size=2), min_size=m, max_size=m
        ),
        st.lists(st.integers(1, 5), min_size=m, max_size=m),
        st.lists(st.sampled_from([0.0, 1.0, 4.0]), min_size=m, max_size=m),
        st.lists(st.integers(1, 4), min_size=2, max_size=2),
        st.sampled_from([0.5, 2.0, 9.0]),
        st.booleans(),
    )
)


@given(subproblems)
def test_relaxed_bounds_every_subsets_variable_cost(data):
    """Tests that no node subset's units cost less than the relaxation's bound."""
    use_l, cap_l, unit_l, qty_l, penalty, whole = data
    m = len(use_l)
    use = np.array(use_l, dtype=np.int64)
    cap = np.array(cap_l, dtype=np.int64)
    unit = np.array(unit_l)
    qty = np.array(qty_l, dtype=np.int64)
    sp = Subproblem(
        np.arange(m, dtype=np.int64),
        np.zeros(m, dtype=np.int64),
        np.ones(m),
        unit,
        use,
        cap,
        np.minimum(cap, use.sum(axis=1)),
        qty,
        penalty,
        whole,
    )
    vstar, f1, f2 = relaxed(sp)
    assert f1 == 1.0
    assert f2 == (1.0 if m > 1 else np.inf)
    for size in range(1, m + 1):
        for subset in itertools.combinations(range(m), size):
            sel = np.array(sorted(subset, key=lambda j: unit[j]), dtype=np.int64)
            units = allocate(sel, use, cap, qty)
            filled = int(units.sum())
            if whole and filled < qty.sum():
                continue
            cost = float((units.sum(axis=1) * unit[sel]).sum())
            cost += penalty * (int(qty.sum()) - filled)
            assert vstar <= cost + 1e-9
