"""The peers' walks against a plain-Python walk over sorted nodes."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from omnistock._kernels.codes import POLICY_MOST_STOCK, POLICY_NEAREST, POLICY_PRIORITY
from omnistock._kernels.walks import walk
from tests.kernels import builders

walks = st.integers(1, 5).flatmap(
    lambda m: st.tuples(
        st.lists(st.integers(0, 4), min_size=m, max_size=m),  # units of the one line
        st.lists(st.integers(0, 3), min_size=m, max_size=m),  # priority
        st.lists(st.sampled_from([0.1, 0.2, 0.3]), min_size=m, max_size=m),  # half
        st.lists(st.integers(1, 6), min_size=m, max_size=m),  # capacity
        st.integers(1, 8),  # qty
        st.integers(1, 3),  # split limit
        st.sampled_from([POLICY_PRIORITY, POLICY_NEAREST, POLICY_MOST_STOCK]),
    )
)


def _plain_walk(policy, use, prio, half, cap, qty, split_limit):
    """Take from nodes in the policy's order until the line is filled."""

    def key(j):
        if policy == POLICY_NEAREST:
            return (half[j], prio[j], j)
        if policy == POLICY_MOST_STOCK:
            return (-use[j], prio[j], j)
        return (prio[j], j)

    got = {}
    need = qty
    for j in sorted(range(len(use)), key=key):
        if need == 0 or len(got) == split_limit:
            break
        t = min(need, use[j], cap[j])
        if t > 0:
            got[j] = t
            need -= t
    return got


@given(walks)
def test_one_line_walk_takes_in_policy_order(data):
    """Tests each policy's units per node on a one-line order."""
    use, prio, half, cap, qty, split_limit, policy = data
    m = len(use)
    net = builders.network(m, node_priority=np.array(prio, dtype=np.int64))
    # Row j of the line's SKU is node j, with ``use[j]`` free units.
    state = builders.state(use, capacity=np.array(cap, dtype=np.int64), n_nodes=m)
    cands = (
        np.arange(m, dtype=np.int64),
        np.array(half),
        np.array(use, dtype=np.int64).reshape(m, 1),
        np.arange(m, dtype=np.int64).reshape(m, 1),
    )
    request = builders.request([0], [qty], np.zeros(m), split_limit=split_limit)
    sel, units = walk(policy, cands, net, state, request)
    got = {int(j): int(units[a, 0]) for a, j in enumerate(sel)}
    assert got == _plain_walk(policy, use, prio, half, cap, qty, split_limit)


def test_all_or_nothing_short_order_gets_nothing():
    """Tests that an all-or-nothing order the walk cannot fill takes no unit."""
    net = builders.network(2)
    state = builders.state([2, 2], n_nodes=2)
    cands = (
        np.arange(2, dtype=np.int64),
        np.zeros(2),
        np.array([[2], [2]], dtype=np.int64),
        np.array([[0], [1]], dtype=np.int64),
    )
    request = builders.request([0], [5], np.zeros(2), all_or_nothing=True)
    sel, units = walk(POLICY_PRIORITY, cands, net, state, request)
    assert sel.size == 0
    assert units.size == 0
