"""Options of the ``optimal`` solver, validated once by pydantic (docs/solvers.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BACKEND_NAME", "Backend", "OptimalOptions", "ProgressCallback"]

#: ``progress(report)`` with an :class:`omnistock.progress.Progress` (phase, done and
#: total components, incumbent objective, bound, elapsed) on each phase, after each
#: model and at least once a second; a callable of two or three positional
#: arguments is called the earlier way, ``progress(done, total, objective)``.
#: ``objective`` is the cost of the plan so far (solved components plus the warm
#: start, or nothing, for the rest).
ProgressCallback = Callable[..., None]

Backend = Literal["scip", "highs", "cp_sat"]
BACKEND_NAME: dict[str, str] = {"scip": "scip", "highs": "highs", "cp_sat": "sat"}


class OptimalOptions(BaseModel):
    """Options of the ``optimal`` solver (docs/solvers.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    time_limit: float = Field(
        default=60.0, gt=0.0, description="Wall seconds for the batch."
    )
    gap: float = Field(
        default=0.0, ge=0.0, description="Relative gap at which to stop."
    )
    threads: int = Field(
        default=2, ge=1, description="Threads (HiGHS, CP-SAT; SCIP uses 1)."
    )
    warm_start: bool = Field(default=True, description="Start from the greedy plan.")
    seed: int = Field(default=0, ge=0, description="Random seed of the back-end.")
    backend: Backend = Field(default="scip", description="OR-Tools MILP back-end.")
    lp_engine: Literal["highs", "glop"] = Field(
        default="highs", description="LP of column generation: HiGHS (scipy) or GLOP."
    )
    progress: ProgressCallback | None = Field(
        default=None,
        description="Callback: phase, incumbent, bound; per phase and each second.",
    )
