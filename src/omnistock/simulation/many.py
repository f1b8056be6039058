"""Many simulations at once: a policy sweep over demand seeds, on any executor.

A planner compares policies over many draws of demand: :func:`sweep` lists the
runs (every policy x every demand seed), :func:`simulate_many` runs them, in
process or as independent tasks on an executor (a ``ProcessPoolExecutor``, a Dask
``distributed.Client``), and returns one KPI row per run with the run's
parameters as columns. Each distinct network is shipped to every worker once
(``scale.executors.ship``), never once per run; a run that draws its demand
(``n_orders`` and ``demand_seed``) draws it on the worker, so only a few bytes
travel per run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import polars as pl

from omnistock import samples
from omnistock.exceptions import InvalidArgument
from omnistock.model.scenario import Scenario
from omnistock.scale.executors import check_executor, release, resolve, ship, submit
from omnistock.simulation.run import simulate

__all__ = ["DEMAND_KEYS", "simulate_many", "sweep"]

#: Keys of a run that draw its demand instead of giving ``orders``:
#: ``samples.orders(network, n_orders, seed=demand_seed)`` arriving over ``days``
#: days (``samples.orders_frame``; default 1).
DEMAND_KEYS = ("n_orders", "demand_seed", "days")

_SCALARS = (str, int, float, bool)


def sweep(
    *,
    policies: Sequence[str],
    demand_seeds: Iterable[int],
    **simulate_kwargs: Any,
) -> list[dict[str, Any]]:
    """The runs of a grid: every policy on every demand seed, the rest shared.

    Parameters
    ----------
    policies
        Policy names (``simulate``'s ``policy``).
    demand_seeds
        One run per seed and policy; each run draws its own orders with its seed.
    **simulate_kwargs
        ``network`` (required), ``n_orders`` (required unless ``orders`` is
        given), ``days`` and any other keyword of :func:`simulate`.

    Returns
    -------
    list[dict]
        The runs, policy-major, for :func:`simulate_many`.

    Examples
    --------
    >>> from omnistock import samples, sweep
    >>> net = samples.network("small")
    >>> runs = sweep(policies=["greedy", "nearest"], demand_seeds=range(3),
    ...              network=net, n_orders=100)
    >>> len(runs), runs[4]["policy"], runs[4]["demand_seed"]
    (6, 'nearest', 1)
    """
    seeds = list(demand_seeds)
    return [
        {**simulate_kwargs, "policy": policy, "demand_seed": seed}
        for policy in policies
        for seed in seeds
    ]


def _check(runs: Sequence[Mapping[str, Any]]) -> None:
    """Every run names a network and its demand, before anything starts."""
    for i, run in enumerate(runs):
        detail = ""
        if not isinstance(run.get("network"), Scenario):
            detail = f"run {i} has no 'network' Scenario. Got keys {sorted(run)}."
        elif "orders" not in run and "n_orders" not in run:
            detail = f"run {i} gives neither 'orders' nor 'n_orders'. Got keys {sorted(run)}."
        elif "orders" in run and "n_orders" in run:
            detail = f"run {i} gives both 'orders' and 'n_orders'; give one."
        if detail:
            raise InvalidArgument(
                function="simulate_many", argument="runs", detail=detail
            )


def _one(network: Any, run: dict[str, Any]) -> dict[str, float]:
    """One run (on a worker): draw its demand if asked, simulate, return its KPIs."""
    net: Scenario = resolve(network)
    kwargs = dict(run)
    if "n_orders" in kwargs:
        n = int(kwargs.pop("n_orders"))
        seed = int(kwargs.pop("demand_seed", 0))
        days = float(kwargs.pop("days", 1.0))
        kwargs["orders"] = samples.orders(net, n, seed=seed)
        kwargs.setdefault(
            "arrivals",
            samples.orders_frame(net, n, seed=seed, days=days).select(
                "order_id", "arrival"
            ),
        )
    return dict(simulate(net, **kwargs).kpis)


def _params(run: Mapping[str, Any]) -> dict[str, Any]:
    """The run's plain parameters (the columns beside its KPIs)."""
    return {
        k: v
        for k, v in run.items()
        if k != "network" and (v is None or isinstance(v, _SCALARS))
    }


def simulate_many(
    runs: Sequence[Mapping[str, Any]], executor: Executor | None = None
) -> pl.DataFrame:
    """Run many simulations; one KPI row per run, with the run's parameters.

    Parameters
    ----------
    runs
        Each a dict of :func:`simulate`'s keyword arguments (``network`` among
        them), or :data:`DEMAND_KEYS` in place of ``orders``; e.g. from
        :func:`sweep`.
    executor
        None: one after the other in this process. Any
        ``concurrent.futures.Executor`` or a Dask ``distributed.Client``: each run
        is a task; each distinct network reaches every worker once.

    Returns
    -------
    polars.DataFrame
        Column ``run`` (the position in ``runs``), the runs' scalar parameters
        (``policy``, ``demand_seed``, ...; null where a run lacks one), then
        simulate's KPIs; one row per run, in the order of ``runs``.

    Raises
    ------
    InvalidArgument
        A run without a network, or without demand (checked before any run).
    """
    check_executor(executor, "simulate_many")
    _check(runs)
    refs: dict[int, Any] = {}
    kpis: list[dict[str, float]] = []
    try:
        for run in runs:
            net = run["network"]
            if id(net) not in refs:
                # Shipped as a fresh copy: its compiled cache does not pickle.
                refs[id(net)] = (
                    net if executor is None else ship(executor, net.with_orders([]))
                )
        tasks = [
            (refs[id(run["network"])], {k: v for k, v in run.items() if k != "network"})
            for run in runs
        ]
        if executor is None:
            kpis = [_one(ref, run) for ref, run in tasks]
        else:
            futures = [submit(executor, _one, ref, run) for ref, run in tasks]
            kpis = [future.result() for future in futures]
    finally:
        if executor is not None:
            for ref in refs.values():
                release(ref)
    rows = [
        {"run": i, **_params(run), **row}
        for i, (run, row) in enumerate(zip(runs, kpis, strict=True))
    ]
    return pl.DataFrame(rows, infer_schema_length=None)
