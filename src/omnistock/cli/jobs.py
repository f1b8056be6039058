"""The subcommands that work on a plan or over time: check, explain, replan, simulate."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from omnistock.cli.commands import (
    PLAN_FORMATS,
    load_kernels,
    progress_bar,
    solver_options,
    write_plan,
)
from omnistock.cli.files import (
    BadInput,
    Output,
    load_orders,
    load_plan,
    load_scenario,
    say,
)

__all__ = [
    "EXIT_CHECK_FAILED",
    "cmd_check",
    "cmd_explain",
    "cmd_replan",
    "cmd_simulate",
]

#: ``check``'s exit code for a plan that breaks a rule (bad input stays 2).
EXIT_CHECK_FAILED = 1


def cmd_check(args: argparse.Namespace) -> int:
    """Check a plan against its scenario: every rule and the objective, independently."""
    from omnistock.exceptions import PlanCheckError

    scenario = load_scenario(args.scenario)
    plan = load_plan(args.plan)
    try:
        plan.check(scenario)
    except PlanCheckError as err:
        print(f"{args.plan} breaks the rules of {args.scenario}:", file=sys.stderr)
        print(str(err), file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(
        f"{args.plan} passes every rule of {args.scenario} "
        f"(objective {plan.objective:,.2f})"
    )
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Why each node was or was not used for one order of a plan."""
    import polars as pl

    out = Output.parse(args.out, [args.scenario, args.plan], Output.TABLES)
    scenario = load_scenario(args.scenario)
    frame = load_plan(args.plan).explain(args.order, scenario=scenario)
    if out is not None:
        out.table(frame)
        say(f"explanation written to {out.name()}", out)
        return 0
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=160):
        print(frame)
    return 0


def cmd_replan(args: argparse.Namespace) -> int:
    """Re-optimise the plan's unreleased orders; write the moves that save money."""
    from omnistock.replanning import replan

    out = Output.parse(args.out, [args.scenario, args.plan], Output.TABLES)
    plan_out = Output.parse(args.plan_out, [args.scenario, args.plan], PLAN_FORMATS)
    if (
        out is not None
        and plan_out is not None
        and out.to_stdout
        and plan_out.to_stdout
    ):
        msg = "--out and --plan-out cannot both be - (standard output)."
        raise BadInput(msg)
    options = solver_options(args.solver, args)
    scenario = load_scenario(args.scenario)
    plan = load_plan(args.plan)
    load_kernels([args.solver])
    frozen = [f for text in args.frozen or [] for f in text.split(",") if f]
    from omnistock.scale import make_executor

    with make_executor(args.scheduler, args.workers) as executor:
        extra, close = progress_bar(args.solver, quiet=False)
        try:
            result = replan(
                scenario,
                plan,
                frozen=frozen,
                max_moves=args.max_moves,
                min_saving=args.min_saving,
                solver=args.solver,
                executor=executor,
                **options,
                **extra,
            )
        finally:
            close()
    shown = out if out is not None else plan_out
    say(
        f"re-plan saves {result.saving:,.2f} ({plan.objective:,.2f} -> "
        f"{result.plan.objective:,.2f}) with {result.moves.height} move rows",
        shown,
    )
    if out is not None:
        out.table(result.moves)
        say(f"moves written to {out.name()}", out)
    elif plan_out is None:
        import polars as pl

        with pl.Config(tbl_rows=20, tbl_width_chars=160):
            print(result.moves)
    if plan_out is not None:
        write_plan(result.plan, plan_out)
        say(f"new plan written to {plan_out.name()}", plan_out)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Serve orders on arrival by a policy over days; print and write the KPIs."""
    import numpy as np
    import polars as pl

    from omnistock.simulation import simulate

    out = Output.parse(args.out, [args.network, args.orders], Output.TABLES)
    options = solver_options(args.policy, args)
    network = load_scenario(args.network)
    orders = load_orders(args.orders)
    load_kernels([args.policy])
    hours = 24.0 * args.days
    arrivals = np.linspace(0.0, hours, num=len(orders), endpoint=False)
    replenish: Any = None
    if args.refill:
        from omnistock.simulation import OrderUpTo

        replenish = OrderUpTo(24.0, 0.0)
    sim = simulate(
        network,
        orders,
        args.policy,
        arrivals=arrivals,
        plan_hours=24.0,
        replenish=replenish,
        policy_options=options,
        seed=args.seed,
    )
    kpis = pl.DataFrame([{"policy": args.policy, **sim.kpis}])
    if out is not None:
        out.table(sim.daily)
        say(f"daily KPIs written to {out.name()}", out)
    if out is None or not out.to_stdout:
        with pl.Config(tbl_cols=-1, tbl_width_chars=200, tbl_hide_dataframe_shape=True):
            print(kpis)
    return 0
