"""Branch-and-bound over node subsets for one order, and the tie rule (private).

Used by :func:`omnistock._kernels.search.best_decision`; the module docstring there
describes the search. Positions are into the caller's candidate arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from omnistock._kernels.transport import allocate

__all__ = [
    "INF",
    "NOISE_TOL",
    "TIE_SCALE",
    "TIE_TOL",
    "Incumbent",
    "Subproblem",
    "better",
    "branch_and_bound",
    "prunable",
    "relaxed",
]

#: Relative tolerance under which two decision costs count as tied.
TIE_TOL = 1e-9
#: Up to this cost the tie tolerance is TIE_TOL relative; beyond it, it grows only
#: as float64 rounding of a cost's sum does (NOISE_TOL), so at huge quantities one
#: unit's saving (~1e3 in a cost of ~1e12) is never taken for a tie.
TIE_SCALE = 1e6
NOISE_TOL = 1e-13
INF = np.inf


class Subproblem(NamedTuple):
    """One order's search space: its candidate nodes (built inside kernels).

    Attributes
    ----------
    node : int64[m]
        ``node_idx`` of each candidate.
    prio : int64[m]
        Node priority (ties).
    fixed : float64[m]
        Package cost (or a lower bound on it while the km is not taken).
    unit : float64[m]
        Unit cost.
    use : int64[m, n_lines]
        Units of each line the candidate may give.
    cap : int64[m]
        Units the candidate may give in all (capacity, at most the order's).
    most : int64[m]
        Units the candidate may give to the order.
    qty : int64[n_lines]
        Units ordered per line.
    penalty : float
        Cost of one unfilled unit.
    all_or_nothing : bool
        Every unit or none.
    """

    node: np.ndarray
    prio: np.ndarray
    fixed: np.ndarray
    unit: np.ndarray
    use: np.ndarray
    cap: np.ndarray
    most: np.ndarray
    qty: np.ndarray
    penalty: float
    all_or_nothing: bool


class Incumbent(NamedTuple):
    """A decision's rank: cost, packages, priority sum, sorted shipping nodes."""

    cost: float
    packages: int
    prio: int
    nodes: np.ndarray


@njit(cache=True, nogil=True, inline="always")
def _tol(cost: float) -> float:
    """Tie tolerance: TIE_TOL x (1 + |cost|) up to TIE_SCALE, then float noise."""
    size = abs(cost)
    return TIE_TOL * (1.0 + min(size, TIE_SCALE)) + NOISE_TOL * max(
        size - TIE_SCALE, 0.0
    )


@njit(cache=True, nogil=True)
def better(new: Incumbent, inc: Incumbent) -> bool:
    """Whether ``new`` beats ``inc``: cost, then packages, priority sum, nodes."""
    eps = _tol(inc.cost)
    if new.cost < inc.cost - eps:
        return True
    if new.cost > inc.cost + eps:
        return False
    if new.packages != inc.packages:
        return new.packages < inc.packages
    if new.prio != inc.prio:
        return new.prio < inc.prio
    for i in range(new.packages):
        if new.nodes[i] != inc.nodes[i]:
            return new.nodes[i] < inc.nodes[i]
    return False


@njit(cache=True, nogil=True, inline="always")
def prunable(lb: float, min_packages: int, inc: Incumbent) -> bool:
    """No solution with cost >= lb and >= min_packages packages beats ``inc``."""
    eps = _tol(inc.cost)
    return lb > inc.cost + eps or (lb >= inc.cost - eps and inc.packages < min_packages)


@njit(cache=True, nogil=True)
def _evaluate(
    subset: np.ndarray,  # int64[s] candidate positions
    sp: Subproblem,
) -> tuple[Incumbent, np.ndarray, np.ndarray, bool]:
    """Best units over ``subset``.

    Returns the rank (cost, packages, priority sum, sorted shipping nodes), the
    selection in fill order, its units and whether it is feasible.
    """
    cand_node, prio, fixed, unit = sp.node, sp.prio, sp.fixed, sp.unit
    use, capc, qty, penalty = sp.use, sp.cap, sp.qty, sp.penalty
    all_or_nothing = sp.all_or_nothing
    s = subset.shape[0]
    sel = np.empty(s, dtype=np.int64)
    n_sel = 0
    for a in range(s):
        j = subset[a]
        if not all_or_nothing and unit[j] >= penalty:
            continue  # a unit from here costs no less than leaving it unfilled
        # Insertion by (unit cost, priority, node): the fill preference.
        p = n_sel
        while p > 0:
            q = sel[p - 1]
            if unit[q] < unit[j] or (
                unit[q] == unit[j]
                and (
                    prio[q] < prio[j]
                    or (prio[q] == prio[j] and cand_node[q] < cand_node[j])
                )
            ):
                break
            sel[p] = q
            p -= 1
        sel[p] = j
        n_sel += 1
    sel = sel[:n_sel]
    units = allocate(sel, use, capc, qty)
    total_q = 0
    for li in range(qty.shape[0]):
        total_q += qty[li]
    cost = 0.0
    packages = 0
    prio_sum = 0
    filled = 0
    nodes = np.empty(n_sel, dtype=np.int64)
    for a in range(n_sel):
        y = 0
        for li in range(qty.shape[0]):
            y += units[a, li]
        if y > 0:
            j = sel[a]
            cost += fixed[j] + unit[j] * y
            nodes[packages] = cand_node[j]
            packages += 1
            prio_sum += prio[j]
            filled += y
    cost += penalty * (total_q - filled)
    nodes = np.sort(nodes[:packages])
    feasible = (not all_or_nothing) or filled == total_q
    return Incumbent(cost, packages, prio_sum, nodes), sel, units, feasible


@njit(cache=True, nogil=True)
def _bound(
    subset: np.ndarray,  # int64[s], sorted by unit cost
    state: np.ndarray,
    order_rho: np.ndarray,
    rho: np.ndarray,
    sp: Subproblem,
    fixed_sum: float,
) -> float:
    """Lower bound on any solution that contains ``subset`` and only allowed nodes."""
    unit, use, capc, qty = sp.unit, sp.use, sp.cap, sp.qty
    penalty, all_or_nothing = sp.penalty, sp.all_or_nothing
    total = fixed_sum
    s = subset.shape[0]
    m = order_rho.shape[0]
    for li in range(qty.shape[0]):
        need = qty[li]
        a = 0
        b = 0
        while need > 0:
            while a < s and use[subset[a], li] == 0:
                a += 1
            while b < m and (state[order_rho[b]] != 0 or use[order_rho[b], li] == 0):
                b += 1
            pa = unit[subset[a]] if a < s else INF
            pb = rho[order_rho[b]] if b < m else INF
            if pa <= pb:
                price = pa
                j = subset[a] if a < s else -1
                a += 1
            else:
                price = pb
                j = order_rho[b]
                b += 1
            if price == INF or (not all_or_nothing and price >= penalty):
                if all_or_nothing:
                    return INF
                total += need * penalty
                break
            t = min(need, use[j, li], capc[j])
            total += t * price
            need -= t
    return total


@njit(cache=True, nogil=True)
def _sorted_by_unit(subset: np.ndarray, unit: np.ndarray) -> np.ndarray:
    out = subset.copy()
    for a in range(1, out.shape[0]):
        j = out[a]
        p = a
        while p > 0 and unit[out[p - 1]] > unit[j]:
            out[p] = out[p - 1]
            p -= 1
        out[p] = j
    return out


@njit(cache=True, nogil=True)
def _choose_line(state: np.ndarray, use: np.ndarray, deficit: np.ndarray) -> int:
    """A line to branch on (fail first); -1 when no allowed node holds any line.

    The short line held by the fewest allowed nodes, else any line some allowed
    node holds.
    """
    m, n_lines = use.shape
    best = -1
    best_count = m + 1
    first = -1
    for li in range(n_lines):
        count = 0
        for j in range(m):
            if state[j] == 0 and use[j, li] > 0:
                count += 1
        if count == 0:
            continue
        if first < 0:
            first = li
        if deficit[li] > 0 and count < best_count:
            best = li
            best_count = count
    return best if best >= 0 else first


@njit(cache=True, nogil=True)
def relaxed(sp: Subproblem) -> tuple[float, float, float]:
    """A bound on the variable cost of any subset of these nodes; two least packages.

    The relaxation drops package costs and lets each line use every node's units
    and capacity on its own. ``inf`` when an all-or-nothing order cannot be filled
    even so.
    """
    unit, fixed, use, capc, qty = sp.unit, sp.fixed, sp.use, sp.cap, sp.qty
    penalty, all_or_nothing = sp.penalty, sp.all_or_nothing
    m = unit.shape[0]
    cmin = INF
    f1 = INF
    f2 = INF
    for j in range(m):
        cmin = min(cmin, unit[j])
        if fixed[j] < f1:
            f2 = f1
            f1 = fixed[j]
        elif fixed[j] < f2:
            f2 = fixed[j]
    vstar = 0.0
    for li in range(qty.shape[0]):
        avail = 0
        for j in range(m):
            avail += min(use[j, li], capc[j])
        f = min(avail, qty[li])
        if all_or_nothing and f < qty[li]:
            return INF, f1, f2
        per_unit = cmin if all_or_nothing else min(cmin, penalty)
        vstar += f * per_unit + (qty[li] - f) * penalty
    return vstar, f1, f2


@njit(cache=True, nogil=True)
def branch_and_bound(
    sp: Subproblem,
    kmax: int,  # most packages
    vstar: float,  # relaxed(sp): bound on the variable cost
    inc: Incumbent,
) -> tuple[bool, np.ndarray, int]:
    """Depth-first search over subsets of two or more nodes (module docstring).

    Returns whether it beat the given incumbent, the better selection (positions
    in these arrays, fill order) and the number of subsets evaluated.
    """
    cand_node, prio, fixed, unit = sp.node, sp.prio, sp.fixed, sp.unit
    use, most, qty = sp.use, sp.most, sp.qty
    m = cand_node.shape[0]
    n_lines = qty.shape[0]
    found = False
    inc_sel = np.empty(0, dtype=np.int64)
    evaluated = 0
    by_prio = np.argsort(prio, kind="mergesort")
    order_f = by_prio[np.argsort(fixed[by_prio], kind="mergesort")]
    rho = unit + fixed / np.maximum(most, 1)
    order_rho = np.argsort(rho, kind="mergesort")
    state = np.zeros(m, dtype=np.int64)  # 0 allowed, 1 chosen, 2 forbidden
    subset = np.empty(kmax, dtype=np.int64)
    s = 0
    fsum = 0.0
    depth_max = kmax + n_lines + 2
    fr_line = np.empty(depth_max, dtype=np.int64)
    fr_ptr = np.empty(depth_max, dtype=np.int64)
    fr_phase = np.empty(depth_max, dtype=np.int64)
    fr_added = np.empty(depth_max, dtype=np.int64)
    fr_mark = np.empty(depth_max, dtype=np.int64)
    fr_def = np.empty((depth_max, n_lines), dtype=np.int64)
    marked = np.empty(m, dtype=np.int64)
    n_marked = 0
    depth = 0
    pending = True
    pend_added = -1
    pend_def = qty.copy()
    while True:
        if pending:
            pending = False
            pushed = False
            if s < kmax:
                ssorted = _sorted_by_unit(subset[:s], unit)
                lb = _bound(ssorted, state, order_rho, rho, sp, fsum)
                if not prunable(lb, s + 1, inc):
                    line = _choose_line(state, use, pend_def)
                    if line >= 0:
                        fr_line[depth] = line
                        fr_ptr[depth] = 0
                        fr_phase[depth] = 0
                        fr_added[depth] = pend_added
                        fr_mark[depth] = n_marked
                        fr_def[depth] = pend_def
                        depth += 1
                        pushed = True
            if not pushed and pend_added >= 0:
                # The child leads nowhere: drop it, later siblings do without it.
                s -= 1
                fsum -= fixed[pend_added]
                state[pend_added] = 2
                marked[n_marked] = pend_added
                n_marked += 1
            if depth == 0:
                break
            continue
        f = depth - 1
        line = fr_line[f]
        descended = False
        while fr_ptr[f] < m:
            j = order_f[fr_ptr[f]]
            fr_ptr[f] += 1
            if state[j] != 0 or use[j, line] == 0:
                continue
            if prunable(fsum + fixed[j] + vstar, s + 1, inc):
                fr_ptr[f] = m  # later siblings cost no less
                break
            state[j] = 1
            subset[s] = j
            s += 1
            fsum += fixed[j]
            new, sel, units, feasible = _evaluate(subset[:s], sp)
            evaluated += 1
            if feasible and better(new, inc):
                inc = new
                inc_sel = sel.copy()
                found = True
            pend_def = qty.copy()
            for a in range(sel.shape[0]):
                for li in range(n_lines):
                    pend_def[li] -= units[a, li]
            pending = True
            pend_added = j
            descended = True
            break
        if descended:
            continue
        if fr_phase[f] == 0:
            # Last child: none of the line's remaining nodes joins.
            fr_phase[f] = 1
            for j in range(m):
                if state[j] == 0 and use[j, line] > 0:
                    state[j] = 2
                    marked[n_marked] = j
                    n_marked += 1
            pending = True
            pend_added = -1
            pend_def = fr_def[f].copy()
            continue
        while n_marked > fr_mark[f]:
            n_marked -= 1
            state[marked[n_marked]] = 0
        added = fr_added[f]
        depth -= 1
        if added >= 0:
            s -= 1
            fsum -= fixed[added]
            state[added] = 2
            marked[n_marked] = added
            n_marked += 1
        if depth == 0:
            break
    return found, inc_sel, evaluated
