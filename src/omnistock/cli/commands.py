"""The subcommands that make and solve a day: ``demo``, ``sample``, ``solve``."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from omnistock.cli.files import Output, load_scenario, say

__all__ = ["cmd_demo", "cmd_sample", "cmd_solve", "progress_bar", "solver_options"]

#: Seconds a solver without progress reports may run before the CLI shows a line.
TICK_AFTER = 2.0
#: The formats a plan is written in (``-``: CSV on standard output).
PLAN_FORMATS = (".json", ".parquet", ".csv")


def solver_options(solver: str, args: argparse.Namespace) -> dict[str, Any]:
    """``--time-limit``, ``--gap`` and every ``--option``, checked by the one checker.

    Raises the library's InvalidOptionError / InvalidOptionValue (one line, exit 2)
    before anything is loaded or drawn.
    """
    from omnistock.solving import validate_options

    options: dict[str, Any] = dict(getattr(args, "option", None) or [])
    for flag in ("time_limit", "gap"):
        value = getattr(args, flag, None)
        if value is not None:
            options[flag] = value
    validate_options(solver, options)
    return options


def progress_bar(solver: str, quiet: bool) -> tuple[dict[str, Any], Callable[[], None]]:
    """A status line on stderr for the solve: never a silent stretch over 2 s.

    A solver that reports progress (``capabilities.progress``: optimal,
    lookahead) feeds the line with its phase, work done, incumbent and gap, and
    its heartbeat moves it at least once a second. Any other solver (one kernel
    call: greedy and the peers) gets a line with the elapsed seconds once a
    second, from 2 s on, so a huge batch does not look hung either.
    """
    from omnistock import solvers

    if quiet:
        return {}, lambda: None
    from omnistock.progress import Progress, ProgressLine

    line = ProgressLine(sys.stderr)
    if solvers.get(solver).capabilities.progress:
        return {"progress": line}, line.close
    stop = threading.Event()
    began = time.perf_counter()

    def tick() -> None:
        if stop.wait(TICK_AFTER):
            return
        while True:
            line(Progress(solver, "solving", elapsed=time.perf_counter() - began))
            if stop.wait(1.0):
                return

    ticker = threading.Thread(target=tick, name="omnistock-tick", daemon=True)
    ticker.start()

    def close() -> None:
        stop.set()
        ticker.join()
        line.close()

    return {}, close


def load_kernels(solvers: list[str] | None, quiet: bool = False) -> None:
    """Load the solvers' kernels before the work starts; on a cold cache say so.

    The first run of a fresh install compiles them (tens of seconds): one line
    "compiling kernels, first run only" and a counter that moves every second,
    never a silent minute. A warm cache is quiet.
    """
    from omnistock.progress import ensure_kernels

    ensure_kernels(solvers, notice=None if quiet else sys.stderr)


def cmd_solve(args: argparse.Namespace) -> int:
    """Solve a scenario; print the summary; write the plan when asked."""
    from omnistock.solving import solve

    out = Output.parse(args.out, [args.scenario], PLAN_FORMATS)
    options = solver_options(args.solver, args)
    scenario = load_scenario(args.scenario)
    load_kernels([args.solver], args.quiet)
    from omnistock.scale import make_executor

    with make_executor(args.scheduler, args.workers) as executor:
        extra, close = progress_bar(args.solver, args.quiet)
        try:
            plan = solve(
                scenario, solver=args.solver, executor=executor, **options, **extra
            )
        finally:
            close()
    say(plan.summary(), out)
    if out is not None:
        write_plan(plan, out)
        say(f"plan written to {out.name()}", out)
    return 0


def write_plan(plan: Any, out: Output) -> None:
    """A plan as JSON or parquet (everything), or CSV (the allocation table).

    The CSV (and parquet) table has one row per allocation and one per unfilled
    line, whose ``node_id`` is empty (docs/api.md).
    """
    if out.suffix == ".json":
        out.text(plan.to_json, plan.to_json)
    elif out.suffix == ".parquet":
        out.text(plan.to_parquet, str)  # standard output is always CSV
    else:
        out.table(plan.table())


def cmd_sample(args: argparse.Namespace) -> int:
    """Write a sample network with a day of orders as a scenario JSON."""
    from omnistock import samples

    out = Output.parse(args.out, [], (".json",))
    assert out is not None  # --out is required
    network = samples.network(args.name, seed=args.seed, costs=args.costs)
    scenario = network.with_orders(samples.orders(network, args.orders, seed=args.seed))
    out.text(scenario.to_json, scenario.to_json)
    say(
        f"wrote {out.name()}: {len(scenario.nodes)} nodes, {len(scenario.stock)} stock rows, "
        f"{len(scenario.orders)} orders",
        out,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Every solver on the built-in small network: one KPI row each, every plan checked."""
    import polars as pl

    from omnistock import samples, solvers
    from omnistock.solving import available_solvers, solve

    network = samples.network("small", seed=args.seed)
    scenario = network.with_orders(samples.orders(network, args.orders, seed=args.seed))
    print(
        f"omnistock demo: sample network 'small' ({len(network.nodes)} nodes, "
        f"{len({r.sku for r in network.stock})} SKUs), {args.orders} orders (seed {args.seed})\n"
    )
    # Every solver's kernels first (a notice and a counter on a cold cache), so
    # the seconds below are solve time, not numba's first-call compilation.
    load_kernels(None)

    def limited(name: str, seconds: float) -> dict[str, Any]:
        timed = solvers.get(name).capabilities.time_limit
        return {"time_limit": seconds} if timed else {}

    rows = []
    for name in available_solvers():
        options = limited(name, args.time_limit)
        start = time.perf_counter()
        plan = solve(scenario, solver=name, **options)
        elapsed = time.perf_counter() - start
        plan.check(scenario)
        k = plan.kpis()
        rows.append(
            {
                "solver": name,
                "status": str(plan.status),
                "cost": round(plan.objective, 2),
                "cost/order": round(k["cost_per_order"], 2),
                "fill rate": round(k["fill_rate"], 4),
                "pkgs/order": round(k["packages_per_order"], 3),
                "split rate": round(k["split_rate"], 4),
                "km/pkg": round(k["mean_km"], 1),
                "seconds": round(elapsed, 3),
            }
        )
    table = pl.DataFrame(rows).sort("cost")
    with pl.Config(
        tbl_rows=50, tbl_cols=20, tbl_width_chars=200, tbl_hide_dataframe_shape=True
    ):
        print(table)
    print("\nEvery plan above passed plan.check(); lower cost is better.")
    return 0
