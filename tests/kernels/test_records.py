"""The kernel records: built once, the compiled arrays by name, memory shared."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from numba import njit

from omnistock import samples
from omnistock._kernels import sourcing
from omnistock._kernels.records import (
    NETWORK_FIELDS,
    ORDERS_FIELDS,
    make_request,
)
from omnistock.compiled import StockState, compile_scenario
from omnistock.testing import scenarios


def _reader(fields):
    """A kernel returning the record's fields as a tuple (read inside numba)."""
    body = ", ".join(f"record.{name}" for name, _, _ in fields)
    scope: dict = {}
    exec(f"def read(record):\n    return ({body},)", scope)
    return njit(scope["read"])


def _compiled():
    network = samples.network("small", seed=3)
    return compile_scenario(network.with_orders(samples.orders(network, 5, seed=3)))


def test_records_are_built_once_per_compiled_object():
    """Tests that the network and batch records are cached, a state's too."""
    compiled = _compiled()
    state = StockState.from_network(compiled.network)
    assert compiled.network.record is compiled.network.record
    assert compiled.orders.record is compiled.orders.record
    assert state.record is state.record


def test_records_hold_the_compiled_arrays_by_name():
    """Tests every field of the network and batch records against its source array."""
    compiled = _compiled()
    net, orders = compiled.network, compiled.orders
    values = _reader(NETWORK_FIELDS)(net.record)
    for (name, dtype, _), value in zip(NETWORK_FIELDS, values, strict=True):
        assert np.array_equal(value, getattr(net, name)), name
        if isinstance(value, np.ndarray):
            assert value.dtype == dtype, name
    values = _reader(ORDERS_FIELDS)(orders.record)
    for (name, _, _), value in zip(ORDERS_FIELDS, values, strict=True):
        assert np.array_equal(value, getattr(orders, name)), name


def test_a_kernel_write_shows_in_the_stock_state():
    """Tests that the state record shares memory: a take lowers StockState's arrays."""
    compiled = _compiled()
    state = StockState.from_network(compiled.network)
    row = int(np.flatnonzero(state.free > 0)[0])
    node = int(compiled.network.stock_node[row])
    before = state.free[row], state.limit[row], state.capacity[node]
    rows = np.array([row], dtype=np.int64)
    nodes = np.array([node], dtype=np.int64)
    bad, _, _ = sourcing.commit_takes(
        state.record, rows, nodes, np.array([1], dtype=np.int64), False
    )
    assert bad == -1
    assert state.free[row] == before[0] - 1
    assert state.limit[row] == before[1] - 1
    assert state.capacity[node] == before[2] - 1


@given(scenarios(max_nodes=3, max_orders=4, min_orders=1))
def test_make_request_reads_one_order_of_the_batch(scenario):
    """Tests each Request field against the compiled order it comes from."""
    compiled = scenario.compiled()
    net, orders = compiled.network, compiled.orders
    for o in range(orders.n_orders):
        lo, hi = orders.line_indptr[o], orders.line_indptr[o + 1]
        request = make_request(orders.record, o, 2.5, net.node_unit_cost)
        assert request.line_sku.tolist() == orders.line_sku[lo:hi].tolist()
        assert request.line_qty.tolist() == orders.line_qty[lo:hi].tolist()
        assert request.channel == orders.order_channel[o]
        assert request.method == orders.order_method[o]
        assert request.pickup == orders.order_pickup[o]
        assert np.array_equal(request.dest_xyz, orders.order_xyz[o])
        assert request.exempt == orders.order_exempt[o]
        assert request.penalty == 2.5
        assert request.split_limit == orders.order_max_splits[o]
        assert request.all_or_nothing == orders.order_all_or_nothing[o]
        assert np.array_equal(request.unit_cost, net.node_unit_cost)


def test_no_kernel_takes_more_than_six_parameters():
    """Tests the records' promise: every @njit function takes at most 6 parameters."""
    import ast
    from pathlib import Path

    import omnistock

    root = Path(omnistock.__file__).parent
    kernels = []
    for path in sorted(root.rglob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, ast.FunctionDef) and any(
                "njit" in ast.unparse(d) for d in fn.decorator_list
            ):
                kernels.append((path.relative_to(root), fn.name, len(fn.args.args)))
                assert path.parent.name == "_kernels", (path, fn.name)
    assert len(kernels) > 40
    assert [k for k in kernels if k[2] > 6] == []
