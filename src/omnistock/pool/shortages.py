"""The InsufficientStock a pool raises, worded once for every check that refuses.

A refusal names the node, the SKU, what was asked and what is left, and why
the rest is not available (docs/pool.md, "Errors").
"""

from __future__ import annotations

from omnistock.exceptions import InsufficientStock

__all__ = ["over_capacity", "shortage"]


def over_capacity(node_id: str, sku: str, need: int, left: int) -> InsufficientStock:
    """``need`` units at ``node_id`` exceed the node's capacity ``left`` (S5)."""
    return InsufficientStock(
        node_id,
        sku,
        need,
        max(left, 0),
        f"(node capacity left: the node may give {max(left, 0)} more units "
        "this period)",
    )


def shortage(
    node_id: str,
    sku: str,
    need: int,
    have: int,
    has_row: bool,
    exempt: bool,
    free: int,
) -> InsufficientStock:
    """``need`` units of a row exceed the ``have`` this reservation may take.

    ``free`` is the row's free units: when ``have`` is less, protection (S4)
    keeps the difference from a non-exempt reservation.
    """
    detail = ""
    if not has_row:
        detail = "The node holds no stock of this sku."
    elif not exempt and have < free:
        detail = "Protected units are kept from non-exempt reservations."
    return InsufficientStock(node_id, sku, need, have, detail)
