"""The exact decision for one order under contract v1.1 costs (docs/decisions.md).

With a rate card a unit's cost depends on its line (``band.per_kg x weight``), so
the v1 search's polymatroid fill (``transport.allocate``) is no longer exact, and
the unfilled-order charge is a fixed cost. This kernel, used only when an order
has a v1.1 term (``sourcing.decide_order``), keeps v1 orders on the v1 search:

* a node subset's best units are an exact min-cost flow (successive shortest
  paths, :func:`_flow`): lines -> nodes, per (node, line) the usable units and
  that line's unit cost, per node its capacity. The shortest-path costs rise
  as the flow grows, so ``cost(k) + penalty x (Q - k)`` is convex in the units
  ``k`` served; the best partial fill is at a breakpoint and the full fill
  (no unfilled-order charge) is compared with it;
* the subsets are enumerated in lexicographic order of package cost with a
  bound: the packages chosen plus, per line, its units at the cheaper of the
  unfilled penalty and the least unit cost over the nodes chosen or still
  allowed (capacity and the charge dropped: a valid lower bound), and the
  siblings of a pruned node cost no less (package order);
* the exact shortcuts of ``rated_prune`` (docs/decisions.md, "a faster exact
  v1.1 search"): per-line fills when no capacity binds, single-node bounds,
  dominated nodes left out of the subsets.

Ties go as in the v1 search (``subsets.better``): cost, packages, priority sum,
sorted nodes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from omnistock._kernels.candidates import km_from_half
from omnistock._kernels.cost import package_cost_kernel
from omnistock._kernels.rated_prune import (
    fill_all,
    in_package_order,
    per_line,
    single_bound,
    uncoupled,
    undominated,
)
from omnistock._kernels.rates import band_of, line_unit_extra, rated_package
from omnistock._kernels.subsets import INF, Incumbent, _tol, better, prunable

__all__ = ["MAX_SUBSETS", "RatedOrder", "rated_decision", "rated_terms"]

#: Most node subsets of two or more one order's search evaluates. Since the
#: dominance and single-node bounds (``rated_prune``) no "large" carrier order
#: measured comes near it (max 3,408 of 10,000): it is kept as a guard so that an
#: adversarial order cannot stall a caller; past it the decision is the best found
#: so far, not a proven optimum (docs/decisions.md, "rate cards"). Every smaller
#: search is exact.
MAX_SUBSETS = 20_000


class RatedOrder(NamedTuple):
    """One order's search space under v1.1 costs (built inside :func:`rated_decision`).

    ``node``, ``prio``, ``fixed`` (package cost), ``cap`` per candidate;
    ``unit`` and ``use`` per (candidate, line); ``qty`` per line; ``penalty``
    (one unfilled unit), ``charge`` (any unit unfilled), ``all_or_nothing``.
    """

    node: np.ndarray
    prio: np.ndarray
    fixed: np.ndarray
    unit: np.ndarray
    use: np.ndarray
    cap: np.ndarray
    qty: np.ndarray
    penalty: float
    charge: float
    all_or_nothing: bool


@njit(cache=True, nogil=True)
def rated_terms(
    cands: Any,  # candidates.collect_candidates
    net: Any,  # records.NetworkRecord
    request: Any,  # records.Request
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate: package cost, unit cost per line, band and km.

    Returns
    -------
    fixed : float64[m]
        ``package_cost`` + the band's package.
    unit : float64[m, n_lines]
        The node's unit cost + ``unit_per_km x km`` + ``band.unit + band.per_kg x kg``.
    band : int64[m]
        The band of each candidate (``rates.band_of``).
    km : float64[m]
    """
    cand_node, cand_half = cands[0], cands[1]
    m = cand_node.shape[0]
    n_lines = request.line_qty.shape[0]
    fixed = np.empty(m, dtype=np.float64)
    unit = np.empty((m, n_lines), dtype=np.float64)
    bands = np.empty(m, dtype=np.int64)
    kms = np.empty(m, dtype=np.float64)
    for j in range(m):
        n = cand_node[j]
        km = km_from_half(cand_half[j])
        band = band_of(net, request.method, km)
        bands[j] = band
        kms[j] = km
        fixed[j] = package_cost_kernel(
            net.package, net.node_handling[n], net.per_km, km
        ) + rated_package(net, band)
        for li in range(n_lines):
            d, c = line_unit_extra(net, band, km, request.line_weight[li])
            unit[j, li] = request.unit_cost[n] + d + c
    return fixed, unit, bands, kms


@njit(cache=True, nogil=True)
def _flow(
    subset: np.ndarray,  # int64[s] candidate positions
    rt: RatedOrder,
) -> tuple[float, np.ndarray]:
    """The cheapest units over ``subset``: (variable cost incl. unfilled, units[s, L]).

    ``inf`` when an all-or-nothing order cannot be filled in full here.
    """
    unit, use, cap, qty = rt.unit, rt.use, rt.cap, rt.qty
    penalty, charge, all_or_nothing = rt.penalty, rt.charge, rt.all_or_nothing
    s = subset.shape[0]
    n_lines = qty.shape[0]
    x = np.zeros((s, n_lines), dtype=np.int64)
    dem = qty.copy()
    out = np.zeros(s, dtype=np.int64)
    total_q = 0
    for li in range(n_lines):
        total_q += qty[li]
    filled = 0
    var = 0.0  # sum of unit costs of the flow
    best_cost = INF if all_or_nothing else penalty * total_q + charge
    best_x = x.copy()
    d_line = np.empty(n_lines, dtype=np.float64)
    d_node = np.empty(s, dtype=np.float64)
    p_line = np.empty(n_lines, dtype=np.int64)  # node position it came from (-1 root)
    p_node = np.empty(s, dtype=np.int64)  # line it came from
    while filled < total_q:
        for li in range(n_lines):
            d_line[li] = 0.0 if dem[li] > 0 else INF
            p_line[li] = -1
        d_node[:] = INF
        changed = True
        rounds = 0
        while changed and rounds <= s + n_lines + 1:
            changed = False
            rounds += 1
            for a in range(s):
                j = subset[a]
                for li in range(n_lines):
                    if d_line[li] < INF and x[a, li] < use[j, li]:
                        nd = d_line[li] + unit[j, li]
                        if nd < d_node[a] - 1e-12:
                            d_node[a] = nd
                            p_node[a] = li
                            changed = True
                    if d_node[a] < INF and x[a, li] > 0:
                        nd = d_node[a] - unit[j, li]
                        if nd < d_line[li] - 1e-12:
                            d_line[li] = nd
                            p_line[li] = a
                            changed = True
        target = -1
        for a in range(s):
            if (
                out[a] < cap[subset[a]]
                and d_node[a] < INF
                and (target < 0 or d_node[a] < d_node[target])
            ):
                target = a
        if target < 0:
            break
        # Bottleneck along the path (node <- line <- node <- ... <- root line).
        delta = cap[subset[target]] - out[target]
        a = target
        while True:
            li = p_node[a]
            delta = min(delta, use[subset[a], li] - x[a, li])
            b = p_line[li]
            if b < 0:
                delta = min(delta, dem[li])
                break
            delta = min(delta, x[b, li])
            a = b
        a = target
        while True:
            li = p_node[a]
            x[a, li] += delta
            b = p_line[li]
            if b < 0:
                dem[li] -= delta
                break
            x[b, li] -= delta
            a = b
        out[target] += delta
        filled += delta
        var += delta * d_node[target]
        cost = var + penalty * (total_q - filled)
        if filled < total_q:
            if all_or_nothing:
                continue
            cost += charge
        if cost < best_cost:
            best_cost = cost
            best_x = x.copy()
    return best_cost, best_x


@njit(cache=True, nogil=True)
def _evaluate(subset: np.ndarray, rt: RatedOrder) -> tuple[Incumbent, np.ndarray, bool]:
    """The rank of the best decision over ``subset`` and its units."""
    cand_node, prio, fixed = rt.node, rt.prio, rt.fixed
    if uncoupled(subset, rt):
        var, x = per_line(subset, rt)
    else:
        var, x = _flow(subset, rt)
    if var == INF:
        return Incumbent(INF, 0, 0, np.empty(0, dtype=np.int64)), x, False
    cost = var
    packages = 0
    prio_sum = 0
    nodes = np.empty(subset.shape[0], dtype=np.int64)
    for a in range(subset.shape[0]):
        if x[a].sum() > 0:
            j = subset[a]
            cost += fixed[j]
            nodes[packages] = cand_node[j]
            packages += 1
            prio_sum += prio[j]
    return Incumbent(cost, packages, prio_sum, np.sort(nodes[:packages])), x, True


@njit(cache=True, nogil=True)
def _var_bound(
    chosen: np.ndarray,  # int64[d] candidates chosen (priced by their unit cost)
    kpos: np.ndarray,  # int64[m]: position in the search order, -1 when left out
    start: int,  # candidates at positions >= start are still allowed
    rt: RatedOrder,
    extra: np.ndarray,  # float64[m]: added to an allowed candidate's unit price
    by_price: np.ndarray,  # int64[n_lines, m]: candidates by unit + extra, per line
) -> float:
    """A lower bound on the variable cost: each line filled from its cheapest units.

    Per line, the chosen and allowed candidates' units in price order (a chosen
    one at its unit cost, an allowed one at unit + ``extra``), each up to what it
    holds of the line and its capacity, the rest unfilled at the penalty (then
    the unfilled-order charge is due when no node holds it). Capacity shared
    between lines is dropped: a relaxation, so a valid bound.
    """
    unit, use, cap, qty = rt.unit, rt.use, rt.cap, rt.qty
    penalty, all_or_nothing = rt.penalty, rt.all_or_nothing
    m = by_price.shape[1]
    d = chosen.shape[0]
    total = 0.0
    short = False
    mine = np.empty(d, dtype=np.int64)
    for li in range(qty.shape[0]):
        # The chosen candidates of this line by unit cost (few: insertion sort).
        n_mine = 0
        for a in range(d):
            j = chosen[a]
            if use[j, li] == 0:
                continue
            q = n_mine
            while q > 0 and unit[mine[q - 1], li] > unit[j, li]:
                mine[q] = mine[q - 1]
                q -= 1
            mine[q] = j
            n_mine += 1
        need = qty[li]
        a = 0
        b = 0
        while need > 0:
            while b < m and (
                kpos[by_price[li, b]] < start or use[by_price[li, b], li] == 0
            ):
                b += 1
            pa = unit[mine[a], li] if a < n_mine else INF
            pb = unit[by_price[li, b], li] + extra[by_price[li, b]] if b < m else INF
            if pa <= pb:
                price = pa
                j = mine[a] if a < n_mine else -1
                a += 1
            else:
                price = pb
                j = by_price[li, b]
                b += 1
            if price == INF:
                if all_or_nothing:
                    return INF
                short = True
                total += need * penalty
                break
            if not all_or_nothing and price >= penalty:
                total += need * penalty
                break
            t = min(need, use[j, li], cap[j])
            total += t * price
            need -= t
    return total + rt.charge if short else total


@njit(cache=True, nogil=True)
def _price_order(rt: RatedOrder, extra: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """int64[n_lines, k]: per line, the candidates ``keep`` by unit + ``extra`` (stable)."""
    n_lines = rt.unit.shape[1]
    out = np.empty((n_lines, keep.shape[0]), dtype=np.int64)
    for li in range(n_lines):
        out[li] = keep[np.argsort(rt.unit[keep, li] + extra[keep], kind="mergesort")]
    return out


@njit(cache=True, nogil=True)
def rated_decision(
    cands: Any,  # candidates.collect_candidates
    terms: Any,  # rated_terms(cands, net, request): computed once by the caller
    net: Any,  # records.NetworkRecord
    cap_left: np.ndarray,  # int64[n_nodes]
    request: Any,  # records.Request
) -> tuple[np.ndarray, np.ndarray, int]:
    """The cheapest decision for one order under v1.1 costs (``search.best_decision``'s shape)."""
    cand_node, _, cand_use, _ = cands
    qty = request.line_qty
    m = cand_node.shape[0]
    n_lines = qty.shape[0]
    total_q = qty.sum()
    fixed, unit = terms[0], terms[1]
    prio = np.empty(m, dtype=np.int64)
    cap = np.empty(m, dtype=np.int64)
    use = np.empty((m, n_lines), dtype=np.int64)
    for j in range(m):
        prio[j] = net.node_priority[cand_node[j]]
        cap[j] = min(cap_left[cand_node[j]], total_q)
        for li in range(n_lines):
            use[j, li] = min(cand_use[j, li], qty[li])
    rt = RatedOrder(
        cand_node,
        prio,
        fixed,
        unit,
        use,
        cap,
        qty,
        request.penalty,
        request.charge,
        request.all_or_nothing,
    )
    inc = Incumbent(
        request.penalty * total_q + request.charge, 0, 0, np.empty(0, dtype=np.int64)
    )
    inc_sub = np.empty(0, dtype=np.int64)
    inc_x = np.zeros((0, n_lines), dtype=np.int64)
    evaluated = 0
    vb_all = fill_all(rt)
    if vb_all == INF:
        return inc_sub, inc_x, evaluated
    # 1. Every single node whose package fits under the incumbent, in package
    # order, after the one of least bound (a first incumbent): the nodes that
    # cannot fit under it never will, and are not sorted.
    sb = np.empty(m, dtype=np.float64)
    for j in range(m):
        sb[j] = fixed[j] + max(vb_all, single_bound(j, rt))
    one = np.empty(1, dtype=np.int64)
    # A split limit of 0 (a locker with no parcel left, S11) allows no package.
    first = np.argmin(sb) if m > 0 and request.split_limit >= 1 else -1
    one[0] = first
    if first >= 0 and not prunable(sb[first], 1, inc):
        new, x, ok = _evaluate(one, rt)
        evaluated += 1
        if ok and better(new, inc):
            inc, inc_sub, inc_x = new, one.copy(), x
    order = in_package_order(rt, sb <= inc.cost + _tol(inc.cost))
    for p in range(order.shape[0] if first >= 0 else 0):
        j = order[p]
        if prunable(fixed[j] + vb_all, 1, inc):
            break  # later nodes' packages cost no less
        if j == first or prunable(sb[j], 1, inc):
            continue  # tried first, or what this node holds cannot compete
        one[0] = j
        new, x, ok = _evaluate(one, rt)
        evaluated += 1
        if ok and better(new, inc):
            inc, inc_sub, inc_x = new, one.copy(), x
    # 2. Two or more packages: only when the two least packages can compete, over
    # the nodes whose package fits with the least other one (the rest cannot
    # join a better decision); what is left to find ships from >= 2 nodes.
    kmax = min(request.split_limit, m, total_q)
    if kmax < 2 or m < 2:
        sel, units = _shipping(inc_sub, inc_x)
        return sel, units, evaluated
    least = np.argmin(fixed)  # the two least packages, first and second
    second = fixed[np.argmin(np.where(np.arange(m) == least, INF, fixed))]
    if prunable(fixed[least] + second + vb_all, 2, inc):
        sel, units = _shipping(inc_sub, inc_x)
        return sel, units, evaluated
    fits = np.empty(m, dtype=np.bool_)
    for j in range(m):
        other = second if j == least else fixed[least]
        fits[j] = not prunable(fixed[j] + other + vb_all, 2, inc)
    keep = undominated(in_package_order(rt, fits), rt, total_q, _tol(inc.cost))
    n_keep = keep.shape[0]
    plain = np.zeros(m, dtype=np.float64)
    by_plain = _price_order(rt, plain, keep)
    kpos = np.full(m, -1, dtype=np.int64)
    kpos[keep] = np.arange(n_keep)
    # A node not chosen yet spreads its package over the units it may give: a
    # bound on any superset (its units cost at least unit + fixed / units).
    spread = np.empty(m, dtype=np.float64)
    for j in range(m):
        spread[j] = fixed[j] / max(min(cap[j], use[j].sum()), 1)
    by_spread = _price_order(rt, spread, keep)
    chosen = np.empty(kmax, dtype=np.int64)
    pos = np.empty(kmax, dtype=np.int64)
    d = 0
    start = 0
    fsum = 0.0
    while True:
        extended = False
        if (
            d < kmax
            and start < n_keep
            and not (
                d > 0
                and prunable(
                    fsum + _var_bound(chosen[:d], kpos, start, rt, spread, by_spread),
                    2,
                    inc,
                )
            )
        ):
            vb = _var_bound(chosen[:d], kpos, start, rt, plain, by_plain)
            for p in range(start, n_keep if vb < INF else start):
                j = keep[p]
                if prunable(fsum + fixed[j] + vb, 2, inc):
                    break  # later siblings' packages cost no less
                chosen[d] = j
                pos[d] = p
                d += 1
                fsum += fixed[j]
                if d >= 2:
                    new, x, ok = _evaluate(chosen[:d], rt)
                    evaluated += 1
                    if ok and better(new, inc):
                        inc, inc_sub, inc_x = new, chosen[:d].copy(), x
                start = p + 1
                extended = True
                break
        if not extended or evaluated >= MAX_SUBSETS:
            if d == 0 or evaluated >= MAX_SUBSETS:
                break
            d -= 1
            fsum -= fixed[chosen[d]]
            start = pos[d] + 1
    sel, units = _shipping(inc_sub, inc_x)
    return sel, units, evaluated


@njit(cache=True, nogil=True)
def _shipping(sub: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of ``sub`` that ship something, and their units."""
    ships = np.zeros(sub.shape[0], dtype=np.bool_)
    for a in range(sub.shape[0]):
        ships[a] = x[a].sum() > 0
    return sub[ships], x[ships]
