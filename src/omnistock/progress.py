"""Never silent: the kernels' one-time compile notice, and solver progress.

Two things a user must see so that nothing looks hung:

* the first run on a fresh install compiles every numba kernel (tens of seconds):
  :func:`ensure_kernels` loads or compiles up front the kernels a solve needs and,
  only when it compiles, prints one line ``compiling kernels, first run only`` and
  a counter (kernels done / total, elapsed seconds) that moves at least once a
  second; :func:`kernels_cold` says beforehand whether it will compile;
* a long solve reports :class:`Progress` (phase, incumbent, bound and gap) to the
  ``progress`` callback of every solver that declares ``Capabilities.progress``,
  through a :class:`Reporter` whose heartbeat thread repeats the latest state at
  least once a second while a phase runs inside one long call.

The Python API never prints: :func:`omnistock.solve` loads the kernels quietly
(logging ``compiling kernels`` at INFO on the ``omnistock`` logger) and reports
that time as ``Plan.load_time``, apart from ``Plan.solve_time``. The command line
calls :func:`ensure_kernels` with ``notice=sys.stderr``.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, TextIO

__all__ = [
    "NOTICE",
    "Progress",
    "ProgressCallback",
    "ProgressLine",
    "Reporter",
    "ensure_kernels",
    "kernels_cold",
    "report",
]

#: The one line printed before the first run's compile.
NOTICE = "omnistock: compiling kernels, first run only"
#: Seconds between two progress reports while a phase runs (at most).
HEARTBEAT = 0.5

_log = logging.getLogger("omnistock")


@dataclass(frozen=True)
class Progress:
    """Where a solve is: what a ``progress`` callback receives.

    Attributes
    ----------
    solver
        The solver's name.
    phase
        What it is doing. optimal: ``"warm start"``, ``"candidates"``,
        ``"flow"``, ``"model k/n"``, ``"LP round r"``, ``"LP-guided incumbent"``,
        ``"MILP (n packages)"``, ``"done"``; lookahead: ``"prices (LP)"``,
        ``"orders"``, ``"done"``.
    done, total
        Units of work finished and in all (optimal: components; the per-order
        walk: orders); ``total`` is 0 while unknown.
    objective
        Cost of the best complete plan known so far (the incumbent), or None.
    bound
        A proven lower bound on the optimum, when known.
    elapsed
        Wall seconds since the solve started.
    """

    solver: str
    phase: str
    done: int = 0
    total: int = 0
    objective: float | None = None
    bound: float | None = None
    elapsed: float = 0.0

    @property
    def gap(self) -> float | None:
        """``(objective - bound) / max(|objective|, 1e-9)``, when both are known."""
        if self.objective is None or self.bound is None:
            return None
        return max(0.0, (self.objective - self.bound) / max(abs(self.objective), 1e-9))


#: A progress callback: ``progress(report: Progress)``. A callable taking two or
#: three positional arguments is the earlier form, called as
#: ``progress(done, total, objective)`` (objective None while unknown).
ProgressCallback = Callable[..., None]


def _takes_one(callback: Callable[..., Any]) -> bool:
    """Whether ``callback`` takes one report (True) or ``(done, total, objective)``."""
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return True
    positional = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    required = [p for p in params if p.kind in positional and p.default is p.empty]
    return len(required) <= 1


class Reporter:
    """Feeds one solve's :class:`Progress` to a callback, with a heartbeat.

    A solver sets the phase (:meth:`phase`) and the figures (:meth:`update`);
    each call reports at once, and while the reporter is open (``with``) a
    daemon thread repeats the latest state every ``interval`` seconds, so a
    phase that is one long call (an LP, a MILP, a kernel releasing the GIL, or
    Python code) still reports at least once a second with ``elapsed`` moving.
    Calls to the callback never overlap. With ``callback=None`` it does nothing.

    Parameters
    ----------
    solver
        The solver's name, copied into every report.
    callback
        ``progress(report)``, or the earlier ``progress(done, total, objective)``.
    interval
        Seconds between heartbeats.
    clock
        Wall clock in seconds (tests pass a fake one).
    """

    def __init__(
        self,
        solver: str,
        callback: ProgressCallback | None,
        *,
        interval: float = HEARTBEAT,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._callback = callback
        self._one = callback is not None and _takes_one(callback)
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._state = Progress(solver=solver, phase="start")
        self._lock = threading.Lock()  # one call to the callback at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._token: Any = None

    @property
    def active(self) -> bool:
        """Whether anyone listens (solvers skip work done only to report)."""
        return self._callback is not None

    @property
    def state(self) -> Progress:
        """The latest report."""
        return self._state

    def phase(self, name: str, **figures: Any) -> None:
        """Enter phase ``name`` (with new figures, as :meth:`update`) and report."""
        self.update(phase=name, **figures)

    def update(self, **figures: Any) -> None:
        """Replace figures of the state (``done``, ``total``, ``objective``, ``bound``)."""
        self._state = replace(self._state, **figures)
        self.emit()

    def emit(self) -> None:
        """Report the latest state now, with ``elapsed`` brought up to date."""
        if self._callback is None:
            return
        with self._lock:
            state = replace(self._state, elapsed=self._clock() - self._start)
            if self._one:
                self._callback(state)
            else:
                self._callback(state.done, state.total, state.objective)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            self.emit()

    def __enter__(self) -> Reporter:
        """Become the solve's reporter (see :func:`report`); start the heartbeat."""
        self._token = _current.set(self)
        if self._callback is not None:
            self._thread = threading.Thread(
                target=self._beat, name="omnistock-progress", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the heartbeat; no report follows."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        _current.reset(self._token)


#: The reporter of the solve running in this thread (or context), if any.
_current: ContextVar[Reporter | None] = ContextVar("omnistock_progress", default=None)


def report(phase: str | None = None, **figures: Any) -> None:
    """Tell the solve's open :class:`Reporter` (if any) of a new phase or figures.

    Lets the inner parts of a solver (column generation, the MILP) name their
    phase without a reporter passed down every call; outside a solve, a no-op.
    """
    reporter = _current.get()
    if reporter is None or not reporter.active:
        return
    if phase is not None:
        figures["phase"] = phase
    reporter.update(**figures)


class ProgressLine:
    """A ``progress`` callback that shows each report as one status line on ``stream``.

    ``optimal: MILP (4,865 packages) | 10/19 | objective 40,194.54 | gap 2.3 % | 12 s``.
    On a terminal the line is rewritten in place and :meth:`close` clears it; into
    a file or pipe each report is a line of its own. For the command line.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._width = 0

    @staticmethod
    def text(report: Progress) -> str:
        """The status line of ``report``."""
        parts = [f"{report.solver}: {report.phase}"]
        if report.total:
            parts.append(f"{report.done:,}/{report.total:,}")
        if report.objective is not None:
            parts.append(f"objective {report.objective:,.2f}")
        if report.gap is not None:
            parts.append(f"gap {100 * report.gap:.2f} %")
        parts.append(f"{report.elapsed:.0f} s")
        return " | ".join(parts)

    def __call__(self, report: Progress) -> None:
        """Show ``report``."""
        line = self.text(report)
        if self._tty:
            self._stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Clear the line on a terminal (the summary printed next starts clean)."""
        if self._tty and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()


# -- kernels -----------------------------------------------------------------------

#: Solvers whose warm-up has run (or is running) in this process.
_warmed: set[str] = set()
# Re-entrant: a solve inside a warm-up (a solver calling ``solve``) must not wait on itself.
_warm_lock = threading.RLock()


def kernels_cold(solvers: Iterable[str] | None = None) -> bool:
    """Whether loading the kernels of ``solvers`` (default: all built in) will compile.

    False when this process has them already or numba's on-disk cache holds a
    fresh copy of each (read from its index files, nothing compiled).
    """
    from omnistock._kernels import warmup

    names = warmup.kernels_for(_solver_names(solvers))
    return not all(warmup.loaded(k) or warmup.cached(k) for k in names)


def ensure_kernels(
    solvers: Iterable[str] | None = None,
    *,
    notice: TextIO | None = None,
    interval: float = HEARTBEAT,
) -> float:
    """Load (or, on a cold cache, compile) the kernels ``solvers`` need, up front.

    Each named built-in solver solves a small sample day once per process, so
    that its kernels are compiled (first run) or loaded from numba's disk cache
    (later runs) here, not inside a timed solve. Solvers not built in (or
    replaced by a registered one) are skipped. A warm-up that fails is logged
    as a warning and otherwise ignored: the real solve that follows reports
    the real error, if any.

    Parameters
    ----------
    solvers
        Solver names; None: every built-in solver.
    notice
        Where to tell a person (the command line passes ``sys.stderr``). When a
        kernel has to be compiled, one line :data:`NOTICE` is written, then a
        counter ``kernels done/total, seconds`` at least every ``interval``
        seconds until done (on one line rewritten in place on a terminal). When
        everything is in the cache nothing is written. None: write nothing (a
        compile is logged at INFO on the ``omnistock`` logger).
    interval
        Seconds between two counter updates.

    Returns
    -------
    float
        Wall seconds spent (0.0 when this process had loaded them already).
    """
    from omnistock._kernels import warmup
    from omnistock.solvers import _BUILTIN, _REGISTERED

    names = [
        s for s in _solver_names(solvers) if s in _BUILTIN and s not in _REGISTERED
    ]
    start = time.perf_counter()
    with _warm_lock:
        todo = [s for s in names if s not in _warmed]
        if not todo:
            return 0.0
        kernels = warmup.kernels_for(todo)
        with _compile_notice(kernels, notice, interval):
            for solver in todo:
                _warmed.add(solver)  # first: a solve inside the warm-up returns at once
                try:
                    _warm(solver)
                except Exception as err:  # a warm-up never fails the solve after it
                    _log.warning("omnistock: warming up %r failed: %r", solver, err)
    return time.perf_counter() - start


def _solver_names(solvers: Iterable[str] | None) -> list[str]:
    from omnistock._kernels.warmup import KERNELS

    return list(KERNELS) if solvers is None else list(solvers)


@contextmanager
def _compile_notice(
    kernels: tuple[str, ...], notice: TextIO | None, interval: float
) -> Iterator[None]:
    """Say so, once and with a moving counter, if numba compiles inside the block."""
    from numba.core import event

    from omnistock._kernels import warmup

    started = threading.Event()
    stop = threading.Event()
    start = time.perf_counter()
    tty = notice is not None and notice.isatty()

    def line() -> str:
        done = sum(warmup.loaded(k) for k in kernels)
        return f"  kernels {done}/{len(kernels)}, {time.perf_counter() - start:.0f} s"

    # A terminal gets one line rewritten in place; a log file a line a second.
    every = interval if tty else max(interval, 1.0)

    def tick() -> None:
        assert notice is not None
        while not stop.wait(every):
            notice.write(("\r" if tty else "") + line() + ("" if tty else "\n"))
            notice.flush()

    thread = threading.Thread(target=tick, name="omnistock-compile", daemon=True)

    class _Listener(event.Listener):
        def on_start(self, _event: Any) -> None:
            if started.is_set():
                return
            started.set()
            _log.info("compiling kernels, first run only")
            if notice is not None:
                notice.write(NOTICE + "\n")
                notice.flush()
                thread.start()

        def on_end(self, _event: Any) -> None:
            pass

    with event.install_listener("numba:compile", _Listener()):
        try:
            yield
        finally:
            stop.set()
            if thread.is_alive():
                thread.join()
            if started.is_set() and notice is not None:
                notice.write(("\r" if tty else "") + line() + ", done\n")
                notice.flush()


def _warm(solver: str) -> None:
    """Solve a small sample day with ``solver`` and price the plan (calls its kernels)."""
    from omnistock import solvers
    from omnistock.plan import Plan
    from omnistock.solving import validate_options

    compiled = _warm_day()
    impl = solvers.get(solver)
    options = {"time_limit": 10.0} if impl.capabilities.time_limit else {}
    solution = impl.run(compiled, validate_options(solver, options))
    Plan.from_solution(compiled, solution, solver=solver)


_day: list[Any] = []


def _warm_day() -> Any:
    """The compiled warm-up day: 12 orders on sample network "small" (built once)."""
    if not _day:
        from omnistock import samples

        network = samples.network("small", seed=0)
        _day.append(network.with_orders(samples.orders(network, 12, seed=0)).compiled())
    return _day[0]
