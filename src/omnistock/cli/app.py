"""Parse the command line, run the subcommand, and turn every failure into one line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import NoReturn

from pydantic import ValidationError

from omnistock.cli.commands import cmd_demo, cmd_sample, cmd_solve
from omnistock.cli.db import add_db
from omnistock.cli.files import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    INTERRUPTED,
    WRITING,
    BadInput,
    option,
    order_count,
    seconds,
    validation_paragraph,
)
from omnistock.cli.jobs import cmd_check, cmd_explain, cmd_replan, cmd_simulate
from omnistock.exceptions import OmnistockError

__all__ = ["main"]

#: The built-in solvers, for --help (the registry is not imported to print help).
_SOLVERS = "greedy, lookahead, most_stock, nearest, null, optimal, priority"


@contextmanager
def _ctrl_c_ends_the_process() -> Iterator[None]:
    """Make Ctrl-C end the command at once with exit code 130, wherever it lands.

    A KeyboardInterrupt is raised only between bytecodes, and one raised inside a
    C callback (numba's kernel cache, a MILP back-end) was seen lost (the solve
    went on), turned into numba's SystemError, printed as an ignored traceback,
    or crashing the process. So the program raises none: the C-level handler
    writes to a wakeup fd, and a watcher thread removes a half-written output,
    prints one line and ends the process.
    """
    read, write = os.pipe()
    os.set_blocking(write, False)
    previous_fd = signal.set_wakeup_fd(write)
    previous = signal.signal(signal.SIGINT, lambda *_: None)

    def watch() -> None:
        while data := os.read(read, 64):
            if int(signal.SIGINT) in data:
                for tmp in list(WRITING):
                    tmp.unlink(missing_ok=True)
                print(INTERRUPTED, file=sys.stderr, flush=True)
                os._exit(EXIT_INTERRUPTED)

    watcher = threading.Thread(target=watch, name="omnistock-ctrl-c", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.set_wakeup_fd(previous_fd)
        os.close(write)  # the watcher reads end-of-file and returns
        watcher.join()
        os.close(read)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors take one line (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: message (see --help)`` on one line and exit 2."""
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see --help)\n")


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        """Print ``omnistock <version>`` and exit 0."""
        print(f"omnistock {_version()}")
        parser.exit(0)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("omnistock")
    except PackageNotFoundError:  # run from a source tree
        from omnistock import __version__

        return __version__


def _solver_flags(
    cmd: argparse.ArgumentParser, *, name: str = "--solver", default: str = "greedy"
) -> None:
    """The solver and its options: named flags for the common ones, --option for all."""
    cmd.add_argument(name, default=default, help=f"one of {_SOLVERS} ({default})")
    cmd.add_argument(
        "--time-limit",
        type=seconds,
        default=None,
        help="seconds (solvers with a time limit)",
    )
    cmd.add_argument(
        "--gap", type=float, default=None, help="relative gap to stop at (optimal)"
    )
    cmd.add_argument(
        "--option",
        "-o",
        type=option,
        action="append",
        metavar="NAME=VALUE",
        help="any solver option (docs/solvers.md), repeatable: -o threads=2 -o backend=highs",
    )


def _scale_flags(cmd: argparse.ArgumentParser) -> None:
    """Where the batch's independent components run (docs/scale-out.md)."""
    cmd.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a Dask scheduler, e.g. tcp://host:8786",
    )
    cmd.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="a local Dask cluster of N worker processes",
    )


def _sub(
    sub: argparse._SubParsersAction[_Parser], name: str, text: str, example: str
) -> _Parser:
    parser: _Parser = sub.add_parser(
        name,
        help=text,
        description=text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="omnistock",
        description="Exact, explainable order sourcing. Solvers: " + _SOLVERS + ".",
        epilog="Each command's --help has an example. Outputs (--out) are .json, .parquet "
        "or .csv by extension, or - for standard output.",
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="print the version and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = _sub(
        sub,
        "demo",
        "every solver on the built-in small network",
        "omnistock demo --orders 400",
    )
    demo.add_argument(
        "--orders", type=order_count, default=400, help="orders in the day (400)"
    )
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--time-limit",
        type=seconds,
        default=20.0,
        help="limit (s) of each solver that takes one",
    )
    demo.set_defaults(func=cmd_demo)

    sample = _sub(
        sub,
        "sample",
        "write a sample network with a day of orders",
        "omnistock sample small --orders 500 --seed 1 --out day.json",
    )
    sample.add_argument("name", help="small, medium, large or us")
    sample.add_argument("--orders", type=order_count, default=100)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument(
        "--costs",
        choices=("flat", "carrier"),
        default="flat",
        help="flat (v1 costs) or carrier (v1.1: SKU weights and a rate card)",
    )
    sample.add_argument(
        "--out", required=True, help="FILE.json, or - for standard output"
    )
    sample.set_defaults(func=cmd_sample)

    solve = _sub(
        sub,
        "solve",
        "solve a scenario with any solver",
        "omnistock solve day.json --solver optimal --time-limit 60 --gap 0.01 --out plan.parquet",
    )
    solve.add_argument("scenario", help="scenario JSON file or folder of frames")
    _solver_flags(solve)
    solve.add_argument("--out", default=None, help="PLAN.json, .parquet, .csv or -")
    solve.add_argument("--quiet", action="store_true", help="no progress bar")
    _scale_flags(solve)
    solve.set_defaults(func=cmd_solve)

    check = _sub(
        sub,
        "check",
        "check a plan against its scenario (exit 1 if it breaks a rule)",
        "omnistock check day.json plan.parquet",
    )
    check.add_argument("scenario")
    check.add_argument("plan", help="PLAN.json or .parquet written by solve")
    check.set_defaults(func=cmd_check)

    explain = _sub(
        sub,
        "explain",
        "why each node was or was not used for one order",
        "omnistock explain day.json plan.parquet --order ORD-17",
    )
    explain.add_argument("scenario")
    explain.add_argument("plan")
    explain.add_argument("--order", required=True, help="the order id")
    explain.add_argument("--out", default=None, help="TABLE.json, .parquet, .csv or -")
    explain.set_defaults(func=cmd_explain)

    replan = _sub(
        sub,
        "replan",
        "re-optimise a plan's unreleased orders; write the moves",
        "omnistock replan day.json plan.parquet --frozen ORD-1,ORD-2 --max-moves 50 --out moves.csv",
    )
    replan.add_argument("scenario")
    replan.add_argument("plan")
    replan.add_argument(
        "--frozen",
        action="append",
        metavar="ID[,ID...]",
        help="released orders, kept as they are",
    )
    replan.add_argument(
        "--max-moves", type=int, default=None, help="at most this many move rows"
    )
    replan.add_argument(
        "--min-saving",
        type=float,
        default=0.0,
        help="keep the old plan unless it saves this much",
    )
    _solver_flags(replan, default="optimal")
    replan.add_argument("--out", default=None, help="MOVES.json, .parquet, .csv or -")
    _scale_flags(replan)
    replan.add_argument(
        "--plan-out", default=None, help="the new plan: PLAN.json, .parquet, .csv or -"
    )
    replan.set_defaults(func=cmd_replan)

    simulate = _sub(
        sub,
        "simulate",
        "serve orders on arrival by a policy over days; KPIs",
        "omnistock simulate day.json week.json --policy greedy --days 7 --refill --out daily.csv",
    )
    simulate.add_argument(
        "network", help="scenario file or folder (its orders are ignored)"
    )
    simulate.add_argument(
        "orders", help="a scenario whose orders are used, or a JSON list of orders"
    )
    _solver_flags(simulate, name="--policy")
    simulate.add_argument(
        "--days",
        type=seconds,
        default=1.0,
        help="arrivals spread evenly over these days (1)",
    )
    simulate.add_argument(
        "--refill",
        action="store_true",
        help="refill every node to its starting stock each night",
    )
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument(
        "--out", default=None, help="daily KPIs: TABLE.json, .parquet, .csv or -"
    )
    simulate.set_defaults(func=cmd_simulate)
    add_db(sub)
    return parser


def _caused_by_ctrl_c(err: BaseException | None) -> bool:
    """Whether ``err`` or an exception in its chain is a KeyboardInterrupt."""
    while err is not None:
        if isinstance(err, KeyboardInterrupt):
            return True
        err = err.__cause__ or err.__context__
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    As the program (``argv`` None, in the main thread) Ctrl-C ends the process
    with exit code 130 (:func:`_ctrl_c_ends_the_process`); called with ``argv``
    from Python, it raises KeyboardInterrupt as usual and returns 130.
    """
    program = argv is None and threading.current_thread() is threading.main_thread()
    try:
        args = _parser().parse_args(argv)
    except SystemExit as done:  # --help (0) or a usage error (2), already printed
        return int(done.code or 0)
    try:
        with _ctrl_c_ends_the_process() if program else nullcontext():
            return int(args.func(args))
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    except BadInput as err:
        text = str(err)
    except ValidationError as err:
        text = validation_paragraph("input", err)
    except (OmnistockError, ValueError, KeyError) as err:
        text = str(err).strip().strip("'\"")
    except Exception as err:
        # A Ctrl-C inside a compiled kernel's call back into Python surfaces as
        # numba's SystemError, its cause the KeyboardInterrupt.
        if not _caused_by_ctrl_c(err):
            raise
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    # One line, whatever the message held.
    print("omnistock: " + " ".join(text.split()), file=sys.stderr)
    return EXIT_BAD_INPUT
