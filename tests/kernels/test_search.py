"""The per-order search kernels: transportation flow and branch-and-bound, by brute force."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog

from omnistock._kernels.search import best_decision
from omnistock._kernels.transport import allocate
from tests.kernels import builders


def _lp_max_flow(use, cap, qty, weights):
    """Max sum weights[i] * x[i, l] over the flow polytope, by LP (integral: TU)."""
    n, n_lines = use.shape
    c = -np.repeat(weights, n_lines).astype(float)
    a_ub, b_ub = [], []
    for i in range(n):
        row = np.zeros(n * n_lines)
        row[i * n_lines : (i + 1) * n_lines] = 1
        a_ub.append(row)
        b_ub.append(cap[i])
    for li in range(n_lines):
        row = np.zeros(n * n_lines)
        row[li::n_lines] = 1
        a_ub.append(row)
        b_ub.append(qty[li])
    bounds = [(0, use[i, li]) for i in range(n) for li in range(n_lines)]
    return -linprog(
        c, A_ub=np.array(a_ub), b_ub=b_ub, bounds=bounds, method="highs"
    ).fun


flows = st.integers(1, 4).flatmap(
    lambda n: st.tuples(
        st.lists(
            st.lists(st.integers(0, 4), min_size=3, max_size=3), min_size=n, max_size=n
        ),
        st.lists(st.integers(0, 6), min_size=n, max_size=n),
        st.lists(st.integers(1, 5), min_size=3, max_size=3),
    )
)


@given(flows)
def test_allocate_is_a_lexicographic_max_flow(data):
    """Tests that allocate() gives each node in turn the most units possible (exactly)."""
    use, cap, qty = (np.array(a, dtype=np.int64) for a in data)
    n = use.shape[0]
    x = allocate(np.arange(n, dtype=np.int64), use, cap, qty)
    assert (x >= 0).all()
    assert (x <= use).all()
    assert (x.sum(axis=1) <= cap).all()
    assert (x.sum(axis=0) <= qty).all()
    # Earlier nodes first: weights 4^(n - i) make the LP optimum lexicographic.
    weights = np.array([4.0 ** (2 * (n - i)) for i in range(n)])
    assert (
        abs((x.sum(axis=1) * weights).sum() - _lp_max_flow(use, cap, qty, weights))
        < 1e-6
    )


def _brute(use, cap, qty, fixed, unit, penalty, k, aon):
    best = penalty * qty.sum()
    n = use.shape[0]
    for size in range(1, min(k, n) + 1):
        for subset in itertools.combinations(range(n), size):
            s = list(subset)
            total = qty.sum()
            if aon:
                # Full fill at least unit cost: weights favour cheap nodes; feasibility by max flow.
                if _lp_max_flow(use[s], cap[s], qty, np.ones(size)) < total - 1e-9:
                    continue
                order = sorted(s, key=lambda j: unit[j])
                x = allocate(np.array(order, dtype=np.int64), use, cap, qty)
                var = float((x.sum(axis=1) * unit[order]).sum())
            else:
                gain = _lp_max_flow(
                    use[s], cap[s], qty, np.maximum(penalty - unit[s], 0.0)
                )
                var = penalty * total - gain
            best = min(best, fixed[s].sum() + var)
    return best


searches = st.integers(1, 6).flatmap(
    lambda n: st.tuples(
        st.lists(
            st.lists(st.integers(0, 3), min_size=3, max_size=3), min_size=n, max_size=n
        ),
        st.lists(st.integers(1, 6), min_size=n, max_size=n),
        st.lists(st.integers(1, 4), min_size=3, max_size=3),
        st.lists(st.sampled_from([0.0, 1.0, 3.0, 8.0]), min_size=n, max_size=n),
        st.lists(st.sampled_from([0.0, 0.5, 4.0]), min_size=n, max_size=n),
        st.sampled_from([0.0, 2.0, 6.0, 50.0]),
        st.integers(1, 6),
        st.booleans(),
    )
)


@given(searches)
def test_best_decision_equals_brute_force(data):
    """Tests that the branch-and-bound cost equals exhaustive search over node subsets."""
    use_l, cap_l, qty_l, handling, unit_l, penalty, k, aon = data
    n = len(use_l)
    use = np.array(use_l, dtype=np.int64)
    cap = np.array(cap_l, dtype=np.int64)
    qty = np.array(qty_l, dtype=np.int64)
    unit = np.array(unit_l)
    nodes = np.arange(n, dtype=np.int64)
    net = builders.network(n, node_handling=np.array(handling), package=1.0)
    cands = (nodes, np.zeros(n), use, np.zeros_like(use))
    request = builders.request(
        np.zeros(3), qty, unit, penalty=penalty, split_limit=k, all_or_nothing=aon
    )
    sel, x, _ = best_decision(cands, net, cap, request)
    fixed = 1.0 + np.array(handling)
    assert len(sel) <= k
    assert (x <= use[sel]).all()
    assert (x.sum(axis=1) <= cap[sel]).all()
    filled = int(x.sum())
    if aon:
        assert filled in (0, int(qty.sum()))
    cost = (
        fixed[sel].sum()
        + float((x.sum(axis=1) * unit[sel]).sum())
        + penalty * (qty.sum() - filled)
    )
    assert abs(cost - _brute(use, cap, qty, fixed, unit, penalty, k, aon)) < 1e-6 * (
        1 + cost
    )
