"""The command line: ``omnistock demo | solve | sample``.

Bad input never shows a traceback: one line naming what is wrong (the file,
field or option and the value), exit code 2. ``--out`` is checked before any
work (a bad path never throws away a long solve) and never overwrites the
input. Ctrl-C stops with exit code 130 and no traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from omnistock.exceptions import OmnistockError

__all__ = ["main"]

EXIT_BAD_INPUT = 2
#: The shell's code for a process stopped by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130
#: What Ctrl-C prints, whichever way it stops the command.
_INTERRUPTED = "omnistock: interrupted; nothing written."
#: Temporary files being written (removed if Ctrl-C ends the process).
_WRITING: set[Path] = set()
#: Files ``read_scenario`` reads from a scenario folder; output may not replace them.
_FOLDER_INPUTS = {
    f"{name}.{ext}"
    for name in ("nodes", "stock", "orders", "lines")
    for ext in ("parquet", "csv")
} | {"settings.json"}


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


def _check_out(out: str, scenario: str | None, suffixes: tuple[str, ...]) -> Path:
    """``--out`` as a path we may write, checked before any work is done.

    Refused: a suffix not in ``suffixes`` (empty: any), a missing parent folder,
    an existing folder, and the input itself (or a file of an input folder).
    """
    path = Path(out)
    if path.is_dir():
        msg = f"--out {out!r} is a directory; give a file name."
        raise BadInput(msg)
    if not path.parent.is_dir():
        msg = f"--out {out!r}: directory {str(path.parent)!r} does not exist."
        raise BadInput(msg)
    if suffixes and path.suffix not in suffixes:
        allowed = " or ".join(suffixes)
        msg = f"--out must end in {allowed}. Got {out!r}."
        raise BadInput(msg)
    if scenario is not None:
        source, target = Path(scenario).resolve(), path.resolve()
        same = path.exists() and source.exists() and path.samefile(source)  # links
        if (
            same
            or target == source
            or (
                source.is_dir()
                and target.parent == source
                and path.name in _FOLDER_INPUTS
            )
        ):
            msg = f"--out {out!r} would overwrite the input {scenario!r}."
            raise BadInput(msg)
    return path


def _write(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` whole or not at all; an OS error (disk full, ...) is bad input.

    ``write`` fills a temporary sibling that then replaces ``path`` in one rename,
    so a failure or a Ctrl-C never leaves a half-written file under that name.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    _WRITING.add(tmp)
    try:
        write(tmp)
        tmp.replace(path)
    except OSError as err:
        msg = f"cannot write {str(path)!r}: {err.strerror or err}."
        raise BadInput(msg) from err
    finally:
        tmp.unlink(missing_ok=True)
        _WRITING.discard(tmp)


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
                for tmp in list(_WRITING):
                    tmp.unlink(missing_ok=True)
                print(_INTERRUPTED, file=sys.stderr, flush=True)
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


#: The most orders ``sample`` and ``demo`` generate (a day far above any benchmark).
MAX_SAMPLE_ORDERS = 10_000_000


def _order_count(text: str) -> int:
    """Parse ``--orders``: an integer in [0, MAX_SAMPLE_ORDERS]."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SAMPLE_ORDERS:
        msg = f"must be an integer in [0, {MAX_SAMPLE_ORDERS:,}]. Got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _seconds(text: str) -> float:
    """Parse ``--time-limit``: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        msg = f"must be a finite number of seconds > 0. Got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


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

    out = (
        _check_out(args.out, args.scenario, (".json", ".parquet")) if args.out else None
    )
    options: dict[str, Any] = {}
    if args.time_limit is not None:
        options["time_limit"] = args.time_limit
    validate_options(args.solver, options)  # before loading or drawing anything
    scenario = _load_scenario(args.scenario)
    extra, close = _progress_bar(args.solver, args.quiet)
    options.update(extra)
    try:
        plan = solve(scenario, solver=args.solver, **options)
    finally:
        close()
    print(plan.summary())
    if out is not None:
        _write(out, plan.to_parquet if out.suffix == ".parquet" else plan.to_json)
        print(f"plan written to {out}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from omnistock import samples

    out = _check_out(args.out, None, ())
    network = samples.network(args.name, seed=args.seed)
    scenario = network.with_orders(samples.orders(network, args.orders, seed=args.seed))
    _write(out, scenario.to_json)
    print(
        f"wrote {args.out}: {len(scenario.nodes)} nodes, {len(scenario.stock)} stock rows, "
        f"{len(scenario.orders)} orders"
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import polars as pl

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


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors take one line (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: message (see --help)`` on one line and exit 2."""
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="omnistock", description="Exact, explainable order sourcing.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="every solver on the built-in small network")
    demo.add_argument(
        "--orders", type=_order_count, default=400, help="orders in the day (400)"
    )
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument(
        "--time-limit",
        type=_seconds,
        default=20.0,
        help="limit (s) of each solver that takes one",
    )
    demo.set_defaults(func=_cmd_demo)

    solve = sub.add_parser("solve", help="solve a scenario file")
    solve.add_argument("scenario", help="scenario JSON file or folder of frames")
    solve.add_argument("--solver", default="greedy")
    solve.add_argument("--time-limit", type=_seconds, default=None, help="seconds")
    solve.add_argument("--out", default=None, help="PLAN.json or PLAN.parquet")
    solve.add_argument("--quiet", action="store_true", help="no progress bar")
    solve.set_defaults(func=_cmd_solve)

    sample = sub.add_parser("sample", help="write a sample scenario")
    sample.add_argument("name", help="small, medium, large or us")
    sample.add_argument("--orders", type=_order_count, default=100)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, help="FILE.json")
    sample.set_defaults(func=_cmd_sample)
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
        print(_INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    except BadInput as err:
        text = str(err)
    except ValidationError as err:
        text = _validation_paragraph("input", err)
    except (OmnistockError, ValueError, KeyError) as err:
        text = str(err).strip().strip("'\"")
    except Exception as err:
        # A Ctrl-C inside a compiled kernel's call back into Python surfaces as
        # numba's SystemError, its cause the KeyboardInterrupt.
        if not _caused_by_ctrl_c(err):
            raise
        print(_INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    # One line, whatever the message held.
    print("omnistock: " + " ".join(text.split()), file=sys.stderr)
    return EXIT_BAD_INPUT
