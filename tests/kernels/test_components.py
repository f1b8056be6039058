"""Union-find over orders that share a key, against plain connected components."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from omnistock._kernels.components import link

edges = st.integers(1, 8).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(-1, 4)), max_size=12),
    )
)


@given(edges)
def test_orders_sharing_a_key_share_a_root(data):
    """Tests that roots are the least order of each connected group."""
    n, pairs = data
    cand_order = np.array([o for o, _ in pairs], dtype=np.int64)
    cand_key = np.array([k for _, k in pairs], dtype=np.int64)
    root = link(n, cand_order, cand_key, 5)
    groups = [{o} for o in range(n)]
    for key in range(5):
        members = {o for o, k in pairs if k == key}
        if members:
            merged = set(members)
            for g in [g for g in groups if g & members]:
                merged |= g
                groups.remove(g)
            groups.append(merged)
    for g in groups:
        assert {int(root[o]) for o in g} == {min(g)}
