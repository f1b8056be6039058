"""The command line: ``omnistock demo | solve | sample``.

Bad input never shows a traceback: one paragraph naming what is wrong, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from omnistock.exceptions import OmnistockError

__all__ = ["main"]

EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """A user error the CLI reports in one paragraph."""


def _validation_paragraph(source: str, err: ValidationError) -> str:
    errors = err.errors()
    shown = []
    for e in errors[:5]:
        loc = ".".join(str(p) for p in e["loc"])
        text = str(e["msg"]).removeprefix("Value error, ").rstrip(".")
        shown.append(f"{loc}: {text}" if loc else text)
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return f"{source} is not a valid scenario: " + "; ".join(shown) + more + "."


def _load_scenario(path: str) -> Any:
    from omnistock.model.io import read_scenario

    try:
        return read_scenario(path)
    except ValidationError as err:
        raise BadInput(_validation_paragraph(path, err)) from err
    except (OSError, UnicodeDecodeError) as err:
        msg = f"cannot read scenario {path!r}: {err}."
        raise BadInput(msg) from err


def _progress_bar(
    solver: str, quiet: bool
) -> tuple[dict[str, Any], Callable[[], None]]:
    """A tqdm bar fed by the ``progress`` callback of a solver that takes one."""
    from omnistock import solvers

    if quiet or not solvers.get(solver).capabilities.progress:
        return {}, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=0, unit="component", desc=solver, file=sys.stderr, leave=False)

    def progress(done: int, total: int, best: float | None = None, *_: Any) -> None:
        bar.total = total
        bar.n = done
        if best is not None:
            bar.set_postfix(objective=f"{best:,.2f}")
        bar.refresh()

    return {"progress": progress}, bar.close


def _cmd_solve(args: argparse.Namespace) -> int:
    from omnistock.solving import solve, validate_options

    scenario = _load_scenario(args.scenario)
    options: dict[str, Any] = {}
    if args.time_limit is not None:
        options["time_limit"] = args.time_limit
    validate_options(args.solver, options)  # before a progress bar is drawn
    extra, close = _progress_bar(args.solver, args.quiet)
    options.update(extra)
    try:
        plan = solve(scenario, solver=args.solver, **options)
    finally:
        close()
    print(plan.summary())
    if args.out:
        out = Path(args.out)
        if out.suffix == ".parquet":
            plan.to_parquet(out)
        elif out.suffix == ".json":
            plan.to_json(out)
        else:
            msg = f"--out must end in .json or .parquet. Got {args.out!r}."
            raise BadInput(msg)
        print(f"plan written to {out}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from omnistock import samples

    if args.orders < 0:
        msg = f"--orders must be >= 0. Got {args.orders}."
        raise BadInput(msg)
    network = samples.network(args.name, seed=args.seed)
    scenario = network.with_orders(samples.orders(network, args.orders, seed=args.seed))
    scenario.to_json(args.out)
    print(
        f"wrote {args.out}: {len(scenario.nodes)} nodes, {len(scenario.stock)} stock rows, "
        f"{len(scenario.orders)} orders"
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from omnistock import samples, solvers
    from omnistock.solving import available_solvers, solve

    network = samples.network("small", seed=args.seed)
    scenario = network.with_orders(samples.orders(network, args.orders, seed=args.seed))
    print(
        f"omnistock demo: sample network 'small' ({len(network.nodes)} nodes, "
        f"{len({r.sku for r in network.stock})} SKUs), {args.orders} orders (seed {args.seed})\n"
    )
    # Compile each solver's kernels on a few orders first, so the seconds below
    # are solve time, not numba's first-call compilation.
    warm = network.with_orders(samples.orders(network, 5, seed=args.seed))

    def limited(name: str, seconds: float) -> dict[str, Any]:
        timed = solvers.get(name).capabilities.time_limit
        return {"time_limit": seconds} if timed else {}

    for name in available_solvers():
        solve(warm, solver=name, **limited(name, 5.0))
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omnistock", description="Exact, explainable order sourcing."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="every solver on the built-in small network")
    demo.add_argument("--orders", type=int, default=400, help="orders in the day (400)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--time-limit",
        type=float,
        default=20.0,
        help="limit (s) of each solver that takes one",
    )
    demo.set_defaults(func=_cmd_demo)

    solve = sub.add_parser("solve", help="solve a scenario file")
    solve.add_argument("scenario", help="scenario JSON file or folder of frames")
    solve.add_argument("--solver", default="greedy")
    solve.add_argument("--time-limit", type=float, default=None, help="seconds")
    solve.add_argument("--out", default=None, help="PLAN.json or PLAN.parquet")
    solve.add_argument("--quiet", action="store_true", help="no progress bar")
    solve.set_defaults(func=_cmd_solve)

    sample = sub.add_parser("sample", help="write a sample scenario")
    sample.add_argument("name", help="small, medium, large or us")
    sample.add_argument("--orders", type=int, default=100)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, help="FILE.json")
    sample.set_defaults(func=_cmd_sample)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BadInput as err:
        print(f"omnistock: {err}", file=sys.stderr)
    except ValidationError as err:
        print(f"omnistock: {_validation_paragraph('input', err)}", file=sys.stderr)
    except (OmnistockError, ValueError, KeyError) as err:
        text = str(err).strip().strip("'\"")
        print(f"omnistock: {text}", file=sys.stderr)
    except (
        json.JSONDecodeError
    ) as err:  # pragma: no cover - ValueError catches it first
        print(f"omnistock: invalid JSON: {err}", file=sys.stderr)
    return EXIT_BAD_INPUT
