"""Each line's units cheapest first: the same order as a lexsort, the same takes."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from omnistock._kernels.knapsack import cheapest_first


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(1, 4)),
        max_size=80,
    ),
    st.lists(st.integers(0, 9), min_size=4, max_size=4),
)
def test_cheapest_first_equals_lexsort_and_prefix_takes(cands, qty):
    """Runs of every length (ties kept in list order, long runs via mergesort)."""
    cands = sorted(cands, key=lambda c: c[0])  # listed line by line
    line = np.array([c[0] for c in cands], dtype=np.int64)
    price = np.array([c[1] for c in cands], dtype=np.float64)
    ub = np.array([c[2] for c in cands], dtype=np.float64)
    need = np.array(qty, dtype=np.float64)
    by, take = cheapest_first(line, price, ub, need)
    assert by.tolist() == np.lexsort((price, line)).tolist()
    before = dict.fromkeys(range(4), 0.0)
    for k, i in enumerate(by.tolist()):
        expected = min(ub[i], max(need[line[i]] - before[line[i]], 0.0))
        assert take[k] == expected
        before[line[i]] += ub[i]


def test_a_long_run_is_sorted_stably():
    """A line with more candidates than the insertion limit keeps ties in order."""
    price = np.array([3.0, 1.0] * 40)
    line = np.zeros(80, dtype=np.int64)
    by, take = cheapest_first(line, price, np.ones(80), np.array([50.0]))
    assert by.tolist() == np.lexsort((price, line)).tolist()
    assert take.sum() == 50.0
    assert take[:50].tolist() == [1.0] * 50
