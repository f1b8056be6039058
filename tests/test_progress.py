"""Never silent: lazy import, the compile notice, load time apart, progress heartbeats."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from omnistock import progress, samples, solve
from omnistock._kernels import warmup
from omnistock.plan import Plan
from omnistock.progress import Progress, Reporter

#: Seconds a test waits for a thread before calling it stuck (never reached when right).
PATIENCE = 60.0


def test_import_omnistock_loads_no_heavy_library() -> None:
    code = (
        "import sys, omnistock, omnistock.progress\n"
        "heavy = ('numba', 'polars', 'ortools', 'scipy', 'matplotlib')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


class _Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reports_carry_phase_figures_and_fake_elapsed() -> None:
    clock = _Clock()
    seen: list[Progress] = []
    with Reporter("optimal", seen.append, interval=3600.0, clock=clock) as rep:
        rep.phase("warm start")
        clock.now += 7.5
        rep.phase("MILP", done=2, total=4, objective=110.0, bound=99.0)
    assert [s.phase for s in seen] == ["warm start", "MILP"]
    assert seen[-1].elapsed == 7.5
    assert seen[-1].gap == pytest.approx(11.0 / 110.0)
    assert seen[0].gap is None


def test_heartbeat_reports_while_one_long_phase_runs() -> None:
    """A phase that never returns by itself still reports, repeatedly, with its name."""
    beats = threading.Event()
    seen: list[Progress] = []

    def callback(state: Progress) -> None:
        seen.append(state)
        if sum(s.phase == "MILP" for s in seen) >= 3:
            beats.set()

    with Reporter("optimal", callback, interval=0.01) as rep:
        rep.phase("MILP", done=1, total=2)
        # The slow phase: it ends only once the heartbeat has reported twice more.
        assert beats.wait(PATIENCE)
    milp = [s for s in seen if s.phase == "MILP"]
    assert len(milp) >= 3 and all(s.done == 1 and s.total == 2 for s in milp)


def test_earlier_three_argument_callback_still_works() -> None:
    calls: list[tuple[int, int, float | None]] = []
    with Reporter("optimal", lambda d, t, o: calls.append((d, t, o)), interval=3600):
        progress.report("candidates", total=5)
        progress.report(done=5, objective=12.5)
    assert calls == [(0, 5, None), (5, 5, 12.5)]


def test_report_outside_a_solve_does_nothing() -> None:
    progress.report("MILP", done=1)  # no reporter open: no error, nothing to hear


@pytest.mark.parametrize("solver", ["optimal", "lookahead"])
def test_long_solvers_name_their_phases(solver: str) -> None:
    net = samples.network("small", seed=1)
    scenario = net.with_orders(samples.orders(net, 60, seed=1))
    seen: list[Progress] = []
    plan = solve(scenario, solver=solver, time_limit=20.0, progress=seen.append)
    phases = [s.phase for s in seen]
    assert phases[-1] == "done" and seen[-1].done == seen[-1].total
    assert {s.solver for s in seen} == {solver}
    if solver == "optimal":
        assert phases[0] == "warm start" and "candidates" in phases
        assert any(p.startswith("model 1/") for p in phases)
        assert any(p.startswith(("LP round", "MILP", "flow")) for p in phases)
        assert seen[-1].objective == pytest.approx(plan.objective)
        assert seen[-1].bound == pytest.approx(plan.bound)
    else:
        assert phases[0] == "prices (LP)" and "orders" in phases
        assert seen[-1].total == 60


def test_solve_reports_loading_apart_once_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warmed: list[str] = []
    monkeypatch.setattr(progress, "_warmed", set())
    monkeypatch.setattr(progress, "_warm", warmed.append)
    scenario = samples.network("small", seed=1)
    scenario = scenario.with_orders(samples.orders(scenario, 3, seed=1))
    first = solve(scenario, solver="greedy")
    second = solve(scenario, solver="greedy")
    assert warmed == ["greedy"]  # loading happened once, before the first solve
    assert first.load_time > 0.0 and second.load_time == 0.0
    assert Plan.from_json(first.to_json()).load_time == first.load_time


def test_ensure_kernels_skips_solvers_not_built_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warmed: list[str] = []
    monkeypatch.setattr(progress, "_warmed", set())
    monkeypatch.setattr(progress, "_warm", warmed.append)
    progress.ensure_kernels(["mine", "null"])
    assert warmed == ["null"]


def _fresh_compile() -> None:
    """Compile a new (uncached) numba function: what a cold cache does."""
    from numba import njit

    @njit(cache=False)
    def twice(x: int) -> int:
        return 2 * x

    assert twice(21) == 42


def test_a_compile_prints_one_notice_then_a_moving_counter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()

    def slow_cold_warm(_solver: str) -> None:
        _fresh_compile()
        # Keep "compiling" until the counter has been written twice.
        while out.getvalue().count("kernels ") < 2:
            time.sleep(0.01)

    monkeypatch.setattr(progress, "_warmed", set())
    monkeypatch.setattr(progress, "_warm", slow_cold_warm)
    progress.ensure_kernels(["greedy"], notice=out, interval=0.01)
    lines = out.getvalue().splitlines()
    assert lines[0] == progress.NOTICE
    assert out.getvalue().count(progress.NOTICE) == 1
    total = len(warmup.kernels_for(["greedy"]))
    assert all(f"/{total}, " in line for line in lines[1:])
    assert lines[-1].endswith(", done")


def test_a_warm_cache_prints_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(progress, "_warmed", set())
    monkeypatch.setattr(progress, "_warm", lambda _solver: None)
    progress.ensure_kernels(["greedy"], notice=out)
    assert out.getvalue() == ""


def test_after_loading_the_cache_reads_warm() -> None:
    progress.ensure_kernels(["optimal"])
    assert not progress.kernels_cold(["optimal"])
    assert all(warmup.cached(k) for k in warmup.kernels_for(["optimal"]))


def test_every_kernel_named_is_a_cached_kernel() -> None:
    from numba.core.caching import NullCache

    names = warmup.kernels_for(warmup.KERNELS)
    assert len(set(names)) == len(names)
    for name in names:
        kernel: Any = warmup.dispatcher(name)
        assert not isinstance(kernel._cache, NullCache), name  # cache=True


#: On an empty cache: the warm-up with its notice on stderr, then which kernels
#: the process holds. (Only a cold start can tell: a kernel called only from
#: other kernels is linked into their cached code and never loads on its own.)
_COLD_SET = """
import sys
from numba.core.registry import CPUDispatcher
from omnistock import progress
progress.ensure_kernels(notice=sys.stderr)
held = set()
for name, module in list(sys.modules.items()):
    if name.startswith("omnistock._kernels."):
        for attr, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.__module__ == name:
                if value.overloads:
                    held.add(name.removeprefix("omnistock._kernels.") + "." + attr)
print(" ".join(sorted(held)))
"""


@pytest.mark.slow
def test_a_cold_start_says_it_is_compiling_and_compiles_what_the_counter_counts(
    tmp_path: Path,
) -> None:
    """Never a silent minute, and a counter that ends at its total.

    On an empty kernel cache (a folder of its own) the warm-up prints the
    notice and a moving counter and compiles exactly ``KERNELS``; then
    ``omnistock solve`` on that cache is quiet. One test, because compiling
    the kernels cold takes a minute or more on 2 cores (the command line's
    own notice on a cold cache: tests/test_cli_jobs.py, without a compile).
    """
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}

    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        assert done.returncode == 0, done.stderr
        return done

    cold = run([sys.executable, "-c", _COLD_SET])
    kernels = sorted(warmup.kernels_for(warmup.KERNELS))
    assert cold.stdout.split() == kernels
    assert progress.NOTICE in cold.stderr
    assert f"kernels {len(kernels)}/{len(kernels)}" in cold.stderr
    assert "done" in cold.stderr
    network = samples.network("small", seed=1)
    network.with_orders(samples.orders(network, 40, seed=1)).to_json(
        tmp_path / "day.json"
    )
    warm = run([sys.executable, "-m", "omnistock", "solve", str(tmp_path / "day.json")])
    assert "compiling" not in warm.stderr and "kernels " not in warm.stderr


def test_a_failing_warm_up_never_fails_the_solve(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_solver: str) -> None:
        msg = "no back-end here"
        raise RuntimeError(msg)

    monkeypatch.setattr(progress, "_warmed", set())
    monkeypatch.setattr(progress, "_warm", broken)
    scenario = samples.network("small", seed=1)
    scenario = scenario.with_orders(samples.orders(scenario, 3, seed=1))
    with caplog.at_level("WARNING", logger="omnistock"):
        plan = solve(scenario, solver="greedy")
    plan.check(scenario)
    assert "warming up 'greedy' failed" in caplog.text and "no back-end" in caplog.text


def test_a_solve_inside_a_warm_up_does_not_wait_on_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inner: list[float] = []
    monkeypatch.setattr(progress, "_warmed", set())
    monkeypatch.setattr(
        progress, "_warm", lambda s: inner.append(progress.ensure_kernels([s]))
    )
    worker = threading.Thread(target=progress.ensure_kernels, args=(["greedy"],))
    worker.start()
    worker.join(PATIENCE)
    assert not worker.is_alive() and inner == [0.0]


def test_the_status_line_shows_phase_work_incumbent_gap_and_time() -> None:
    out = io.StringIO()
    line = progress.ProgressLine(out)
    state = Progress("optimal", "MILP (61 packages)", 10, 19, 1000.0, 990.0, 12.4)
    line(state)
    line(Progress("lookahead", "prices (LP)"))
    line.close()
    assert out.getvalue().splitlines() == [
        "optimal: MILP (61 packages) | 10/19 | objective 1,000.00 | gap 1.00 % | 12 s",
        "lookahead: prices (LP) | 0 s",
    ]
