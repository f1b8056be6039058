"""What the command line reads and writes, checked before any work is done.

Inputs: a scenario (JSON file or frames folder), a plan (``.json`` or
``.parquet``), orders. Outputs go to the file ``--out`` names, in the format its
extension says (``.json``, ``.parquet``, ``.csv``), or to standard output for
``-``; a file is written whole or not at all and never over an input.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import ValidationError

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "INTERRUPTED",
    "WRITING",
    "BadInput",
    "Output",
    "check_out",
    "load_orders",
    "load_plan",
    "load_scenario",
    "say",
    "option",
    "order_count",
    "seconds",
    "validation_paragraph",
    "write",
]

EXIT_BAD_INPUT = 2
#: The shell's code for a process stopped by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130
#: What Ctrl-C prints, whichever way it stops the command.
INTERRUPTED = "omnistock: interrupted; nothing written."
#: Temporary files being written (removed if Ctrl-C ends the process).
WRITING: set[Path] = set()
#: Files ``read_scenario`` reads from a scenario folder; output may not replace them.
_FOLDER_INPUTS = {
    f"{name}.{ext}"
    for name in ("nodes", "stock", "orders", "lines")
    for ext in ("parquet", "csv")
} | {"settings.json"}


class BadInput(Exception):
    """A user error the CLI reports in one paragraph."""


def validation_paragraph(source: str, err: ValidationError) -> str:
    """A pydantic error as one paragraph: the first five faults, each where and what."""
    errors = err.errors()
    shown = []
    for e in errors[:5]:
        loc = ".".join(str(p) for p in e["loc"])
        text = str(e["msg"]).removeprefix("Value error, ").rstrip(".")
        shown.append(f"{loc}: {text}" if loc else text)
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return f"{source} is not a valid scenario: " + "; ".join(shown) + more + "."


def check_out(out: str, inputs: Sequence[str], suffixes: tuple[str, ...]) -> Path:
    """``--out`` as a path we may write, checked before any work is done.

    Refused: a suffix not in ``suffixes`` (empty: any), a missing parent folder,
    an existing folder, and an input itself (or a file of an input folder).
    """
    path = Path(out)
    if path.is_dir():
        msg = f"--out {out!r} is a directory; give a file name."
        raise BadInput(msg)
    if not path.parent.is_dir():
        msg = f"--out {out!r}: directory {str(path.parent)!r} does not exist."
        raise BadInput(msg)
    if suffixes and path.suffix not in suffixes:
        allowed = suffixes[-1]
        if len(suffixes) > 1:
            allowed = ", ".join(suffixes[:-1]) + f" or {allowed}"
        msg = f"--out must end in {allowed} (or be - for standard output). Got {out!r}."
        raise BadInput(msg)
    for given in inputs:
        source, target = Path(given).resolve(), path.resolve()
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
            msg = f"--out {out!r} would overwrite the input {given!r}."
            raise BadInput(msg)
    return path


def write(path: Path, fill: Callable[[Path], object]) -> None:
    """Write ``path`` whole or not at all; an OS error (disk full, ...) is bad input.

    ``fill`` writes a temporary sibling that then replaces ``path`` in one rename,
    so a failure or a Ctrl-C never leaves a half-written file under that name.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    WRITING.add(tmp)
    try:
        fill(tmp)
        tmp.replace(path)
    except OSError as err:
        msg = f"cannot write {str(path)!r}: {err.strerror or err}."
        raise BadInput(msg) from err
    finally:
        tmp.unlink(missing_ok=True)
        WRITING.discard(tmp)


@dataclass(frozen=True)
class Output:
    """Where a command's result goes: a file by its extension, or ``-`` (stdout).

    Built from ``--out`` before any work (:meth:`parse`). Tables go out as CSV on
    standard output; a command's own messages then go to standard error, so the
    output can be piped.
    """

    path: Path | None  # None: standard output

    TABLES: ClassVar[tuple[str, ...]] = (".json", ".parquet", ".csv")

    @classmethod
    def parse(
        cls, out: str | None, inputs: Sequence[str], suffixes: tuple[str, ...]
    ) -> Output | None:
        """The output of ``--out`` (None when not given), checked now."""
        if out is None:
            return None
        if out == "-":
            return cls(None)
        return cls(check_out(out, inputs, suffixes))

    @property
    def to_stdout(self) -> bool:
        """Whether the result goes to standard output."""
        return self.path is None

    @property
    def suffix(self) -> str:
        """The format: ``.json``, ``.parquet`` or ``.csv`` (``.csv`` on stdout)."""
        return ".csv" if self.path is None else self.path.suffix

    def table(self, frame: pl.DataFrame) -> None:
        """Write a table in the format of the extension.

        CSV holds no lists: a list column is written ``|``-separated, as the
        scenario's CSV frames are (``explain``'s ``usable``).
        """
        if self.suffix == ".csv":
            import polars as pl

            frame = frame.with_columns(
                pl.col(name).cast(pl.List(pl.String)).list.join("|")
                for name, dtype in frame.schema.items()
                if isinstance(dtype, pl.List)
            )
        if self.path is None:
            sys.stdout.write(frame.write_csv())
            sys.stdout.flush()
            return
        if self.suffix == ".json":
            fill: Callable[[Path], object] = frame.write_json
        elif self.suffix == ".parquet":
            fill = frame.write_parquet
        else:
            fill = frame.write_csv
        write(self.path, fill)

    def text(self, fill: Callable[[Path], object], text: Callable[[], str]) -> None:
        """Write a file through ``fill``, or the string ``text()`` to standard output."""
        if self.path is None:
            body = text()
            sys.stdout.write(body if body.endswith("\n") else body + "\n")
            sys.stdout.flush()
            return
        write(self.path, fill)

    def name(self) -> str:
        """How messages name this output."""
        return "standard output" if self.path is None else str(self.path)


def say(message: str, output: Output | None) -> None:
    """Print a message for the person at the terminal, off the output's stream."""
    print(message, file=sys.stderr if output and output.to_stdout else sys.stdout)


#: The most orders ``sample`` and ``demo`` generate (a day far above any benchmark).
MAX_SAMPLE_ORDERS = 10_000_000


def order_count(text: str) -> int:
    """Parse ``--orders``: an integer in [0, MAX_SAMPLE_ORDERS]."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_SAMPLE_ORDERS:
        msg = f"must be an integer in [0, {MAX_SAMPLE_ORDERS:,}]. Got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def seconds(text: str) -> float:
    """Parse ``--time-limit``: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        msg = f"must be a finite number of seconds > 0. Got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def option(text: str) -> tuple[str, Any]:
    """Parse ``--option NAME=VALUE``: VALUE read as JSON (1, 0.5, true, "x") or as text."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        msg = f"must be NAME=VALUE (e.g. gap=0.01). Got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return name.strip().replace("-", "_"), value


def load_scenario(path: str) -> Any:
    """The scenario of a JSON file or a frames folder; bad input is one line."""
    from omnistock.model.io import read_scenario

    try:
        return read_scenario(path)
    except ValidationError as err:
        raise BadInput(validation_paragraph(path, err)) from err
    except (OSError, UnicodeDecodeError) as err:
        msg = f"cannot read scenario {path!r}: {err}."
        raise BadInput(msg) from err


def load_plan(path: str) -> Any:
    """A plan written by ``solve --out`` (``.json`` or ``.parquet``)."""
    from omnistock.plan import Plan

    p = Path(path)
    if not p.is_file():
        msg = f"plan {path!r} does not exist."
        raise BadInput(msg)
    if p.suffix == ".parquet":
        return Plan.read_parquet(p)
    if p.suffix == ".json":
        return Plan.from_json(p)
    msg = f"a plan is a .json or .parquet file written by 'omnistock solve --out'. Got {path!r}."
    raise BadInput(msg)


def load_orders(path: str) -> list[Any]:
    """Orders: those of a scenario (file or folder), or a JSON list of orders."""
    from omnistock.model.orders import Order

    p = Path(path)
    if p.suffix == ".json" and p.is_file():
        try:
            data = json.loads(p.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            msg = f"cannot read orders {path!r}: {err}."
            raise BadInput(msg) from err
        if isinstance(data, list):
            try:
                return [Order.model_validate(o) for o in data]
            except ValidationError as err:
                raise BadInput(validation_paragraph(path, err)) from err
    return list(load_scenario(path).orders)
