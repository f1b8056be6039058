"""Schema migrations of the PostgreSQL pool after the first (append-only).

:data:`omnistock.pool.pgschema.MIGRATIONS` is the first script followed by
:data:`LATER`; never edit a released script, append a new one.

Version 2 (issue 18, throughput): a node WITHOUT a capacity limit this period
is never written by a reserve or a release. Its counter stays ``NO_LIMIT``
(the in-process pool counts it down from there, which changes no decision),
so reservations at one node no longer serialise on that node's row until
their commit is flushed, and a one-line reserve is one row update and one
insert. Deciding "no limit" reads the node row, so a period that sets a limit
must not slip between that read and the reservation's commit: every
operation that moves node capacity takes the period lock (a transaction
advisory lock) SHARED before it reads a node, ``os_period`` takes it
EXCLUSIVE. The lock order becomes: the idempotency key, reservations, the
period, stock rows, nodes (no one waits for a reservation while holding the
period, so a period queued for its exclusive lock closes no cycle).

The hot path gets its own calls, ``os_reserve1`` and ``os_close1``: scalar
arguments, one fixed row back (no arrays to build or parse, no set). Version
1's ``os_lock``, ``os_put``, ``os_take``, ``os_reserve``, ``os_close`` and
``os_period`` are kept under a ``_v1`` name and wrapped, so every rule keeps
one copy: the general (several-line) paths call the new ones by name.

Version 3 (issue 18): contract v1.2 and S11 in SQL. A reservation's tier and
the protection table (``os_prot``; ``os_kept`` is ``u_t(r)``: the table's
entry, else v1's rule on the tier's exemption), checked by ``os_check_t``;
``os_meta.protection`` is the table's version, which a replica's refresh
compares. A locker's parcels (``os_res.locker``, ``parcels``: computed by the
client with :mod:`omnistock.pool.parcels`, the one copy), taken and given back
in the same transaction as the units; lockers are locked after the lines'
nodes. Every check runs before the reservation's insert, so a refused
request takes no reservation id.
"""

from __future__ import annotations

from omnistock.pool.pgextensions import V3_EXTENSIONS

__all__ = ["LATER"]

#: The period lock's advisory key, and the counter of a node without a limit.
_PERIOD = "4218000018"
_NO_LIMIT = "2305843009213693951"
#: A counter at or above this is a node without a limit (held units never
#: bring NO_LIMIT near it: a line holds at most 2**40 units).
_UNLIMITED = "1152921504606846976"

_V2_UNLIMITED = r"""
UPDATE os_node SET cap_left = @NO_LIMIT@, ver = ver + 1 WHERE cap_left >= @UNLIMITED@;
-- S11: the locker a reservation is picked up at, and the shipping nodes whose
-- parcel it holds there (version 3 keeps them; the hot path has none).
ALTER TABLE os_res ADD COLUMN locker text, ADD COLUMN parcels text[];

-- Version 1's functions are kept under a _v1 name and wrapped, so each rule
-- keeps one copy: the general (several-line) paths call os_lock, os_put and
-- os_take by name, and get the new ones.
ALTER FUNCTION os_lock(text[], text[]) RENAME TO os_lock_v1;
ALTER FUNCTION os_put(text[], text[], bigint[]) RENAME TO os_put_v1;
ALTER FUNCTION os_take(text[], text[], bigint[], boolean) RENAME TO os_take_v1;
ALTER FUNCTION os_reserve(text, text, double precision, boolean, text[], text[],
                          bigint[]) RENAME TO os_reserve_v1;
ALTER FUNCTION os_close(bigint, text, smallint) RENAME TO os_close_v1;
ALTER FUNCTION os_period(text[], bigint[]) RENAME TO os_period_v1;

CREATE FUNCTION os_lock(p_nodes text[], p_skus text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(@PERIOD@);  -- before any node
    PERFORM os_lock_v1(p_nodes, p_skus);
END $$;

-- Nodes without a limit back to NO_LIMIT after a general path moved them
-- (those paths hold the nodes' locks already: the write costs no wait).
CREATE FUNCTION os_unlimited(p_nodes text[]) RETURNS void LANGUAGE sql AS $$
    UPDATE os_node SET cap_left = @NO_LIMIT@, ver = ver + 1
        WHERE id = ANY (p_nodes) AND cap_left >= @UNLIMITED@
          AND cap_left <> @NO_LIMIT@;
$$;

CREATE FUNCTION os_put(p_nodes text[], p_skus text[], p_qtys bigint[])
RETURNS void LANGUAGE sql AS $$
    SELECT os_put_v1(p_nodes, p_skus, p_qtys);
    SELECT os_unlimited(p_nodes);
$$;

CREATE FUNCTION os_take(p_nodes text[], p_skus text[], p_qtys bigint[],
                        p_ship boolean) RETURNS void LANGUAGE sql AS $$
    SELECT os_take_v1(p_nodes, p_skus, p_qtys, p_ship);
    SELECT os_unlimited(p_nodes);
$$;

-- A new period: a node with a limit restarts from it less what active
-- reservations hold; a node without one reads NO_LIMIT. Exclusive: every
-- operation moving node capacity has ended, none starts until it commits.
CREATE FUNCTION os_period(p_nodes text[], p_caps bigint[]) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(@PERIOD@);
    PERFORM os_period_v1(p_nodes, p_caps);
    PERFORM os_unlimited((SELECT array_agg(id) FROM os_node));
    RETURN QUERY SELECT * FROM os_changes((SELECT array_agg(id) FROM os_node),
                                          ARRAY[]::text[]);
END $$;

-- The hot path's own calls: a one-line reserve and the close of a one-line
-- reservation, with scalar arguments and ONE fixed row as the answer (no
-- arrays to build or parse, no set to materialise): the reservation id and
-- status (-1: not for this path, ask the general call), the line's units,
-- then the row's counters and, when it moved, the node's.
CREATE TYPE os_one AS (
    rid bigint, status smallint, qty bigint,
    id bigint, ver bigint, on_hand bigint, reserved bigint, shipped bigint,
    received bigint, returned bigint, unsellable bigint, held bigint,
    n_idx integer, n_ver bigint, cap_left bigint
);

CREATE FUNCTION os_reserve1(p_order text, p_key text, p_deadline double precision,
        p_exempt boolean, p_node text, p_sku text, p_qty bigint) RETURNS os_one
LANGUAGE plpgsql AS $$
DECLARE o os_one; i integer; cap bigint;
BEGIN
    IF p_key IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 0));
        SELECT id INTO o.rid FROM os_res WHERE key = p_key;
        IF FOUND THEN  -- a keyed retry: the client reads the reservation
            o.status := -1;
            RETURN o;
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(@PERIOD@);
    FOR i IN 1..2 LOOP
        UPDATE os_row w SET reserved = w.reserved + p_qty, ver = w.ver + 1
            WHERE w.node_id = p_node AND w.sku = p_sku
              AND w.on_hand - w.reserved - w.safety
                  - CASE WHEN p_exempt THEN 0 ELSE greatest(w.protect, 0) END >= p_qty
            RETURNING w.id, w.ver, w.on_hand, w.reserved, w.shipped, w.received,
                      w.returned, w.unsellable, w.held
            INTO o.id, o.ver, o.on_hand, o.reserved, o.shipped, o.received,
                 o.returned, o.unsellable, o.held;
        EXIT WHEN FOUND;
        -- Refused: the general check says why (it raises), on the locked row.
        PERFORM os_lock(ARRAY[p_node], ARRAY[p_sku]);
        PERFORM os_check(ARRAY[p_node], ARRAY[p_sku], ARRAY[p_qty], p_exempt);
    END LOOP;
    SELECT n.idx, n.ver, n.cap_left INTO o.n_idx, o.n_ver, o.cap_left
        FROM os_node n WHERE n.id = p_node;
    IF o.cap_left < @UNLIMITED@ THEN
        UPDATE os_node n SET cap_left = n.cap_left - p_qty, ver = n.ver + 1
            WHERE n.id = p_node AND n.cap_left >= p_qty
            RETURNING n.ver, n.cap_left INTO o.n_ver, o.cap_left;
        IF NOT FOUND THEN  -- the stock fits: the node's capacity does not
            SELECT cap_left INTO cap FROM os_node WHERE id = p_node;
            PERFORM os_fail('OS001', jsonb_build_object('node', p_node,
                'sku', p_sku, 'need', p_qty, 'have', greatest(cap, 0),
                'why', 'capacity'));
        END IF;
    ELSE
        o.n_idx := NULL;
    END IF;
    INSERT INTO os_res (order_id, key, deadline, exempt, nodes, skus, qtys)
        VALUES (p_order, p_key, p_deadline, p_exempt, ARRAY[p_node], ARRAY[p_sku],
                ARRAY[p_qty])
        RETURNING id INTO o.rid;
    IF p_deadline IS NOT NULL THEN
        INSERT INTO os_due VALUES (o.rid, p_deadline);
    END IF;
    o.status := 1;
    o.qty := p_qty;
    RETURN o;
END $$;

-- Commit (status 2) or release (3) a one-line reservation at no locker
-- (status -1 back: it holds several lines or parcels, use os_close).
CREATE FUNCTION os_close1(p_id bigint, p_action text, p_status smallint)
RETURNS os_one LANGUAGE plpgsql AS $$
DECLARE o os_one; r os_res; dl double precision; nd text; sk text;
BEGIN
    UPDATE os_res SET status = p_status
        WHERE id = p_id AND status = 1 AND cardinality(nodes) = 1 AND locker IS NULL
        RETURNING deadline, nodes[1], skus[1], qtys[1] INTO dl, nd, sk, o.qty;
    IF NOT FOUND THEN
        r := os_open(p_id, p_action);  -- raises: unknown, or no longer active
        o.status := -1;
        RETURN o;
    END IF;
    IF dl IS NOT NULL THEN
        DELETE FROM os_due WHERE id = p_id;
    END IF;
    IF p_status <> 2 THEN  -- capacity goes back: the period lock, before the row
        PERFORM pg_advisory_xact_lock_shared(@PERIOD@);
    END IF;
    UPDATE os_row w SET reserved = w.reserved - o.qty,
            on_hand = w.on_hand - CASE WHEN p_status = 2 THEN o.qty ELSE 0 END,
            shipped = w.shipped + CASE WHEN p_status = 2 THEN o.qty ELSE 0 END,
            ver = w.ver + 1
        WHERE w.node_id = nd AND w.sku = sk
        RETURNING w.id, w.ver, w.on_hand, w.reserved, w.shipped, w.received,
                  w.returned, w.unsellable, w.held
        INTO o.id, o.ver, o.on_hand, o.reserved, o.shipped, o.received,
             o.returned, o.unsellable, o.held;
    IF p_status <> 2 THEN  -- given back: the node's capacity, if it has a limit
        UPDATE os_node n SET cap_left = n.cap_left + o.qty, ver = n.ver + 1
            WHERE n.id = nd AND n.cap_left < @UNLIMITED@
            RETURNING n.idx, n.ver, n.cap_left INTO o.n_idx, o.n_ver, o.cap_left;
    END IF;
    o.rid := p_id;
    o.status := p_status;
    RETURN o;
END $$;

-- An os_one answer as change rows: the reservation (p_head), the row, the
-- node if it moved.
CREATE FUNCTION os_one_changes(o os_one, p_node text, p_sku text, p_head boolean)
RETURNS SETOF os_change LANGUAGE plpgsql AS $$
BEGIN
    IF p_head THEN
        RETURN NEXT ROW('r', o.rid, o.status, NULL, NULL, NULL, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::os_change;
    END IF;
    RETURN NEXT ROW('s', o.id, o.ver, o.on_hand, o.reserved, o.shipped, o.received,
        o.returned, o.unsellable, p_node, p_sku, NULL, NULL, o.held, NULL, NULL,
        NULL)::os_change;
    IF o.n_idx IS NOT NULL THEN
        RETURN NEXT ROW('n', o.n_idx, o.n_ver, o.cap_left, NULL, NULL, NULL, NULL,
            NULL, p_node, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::os_change;
    END IF;
END $$;

-- The general calls keep their answers: one line goes by the hot path's call.
CREATE FUNCTION os_reserve(p_order text, p_key text, p_deadline double precision,
        p_exempt boolean, p_nodes text[], p_skus text[], p_qtys bigint[])
RETURNS SETOF os_change LANGUAGE plpgsql AS $$
DECLARE o os_one;
BEGIN
    IF cardinality(p_nodes) <> 1 THEN
        RETURN QUERY SELECT * FROM os_reserve_v1(p_order, p_key, p_deadline,
            p_exempt, p_nodes, p_skus, p_qtys);
        RETURN;
    END IF;
    o := os_reserve1(p_order, p_key, p_deadline, p_exempt, p_nodes[1], p_skus[1],
                     p_qtys[1]);
    IF o.status = -1 THEN
        RETURN QUERY SELECT * FROM os_res_row('k', o.rid, true);
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM os_one_changes(o, p_nodes[1], p_skus[1], true);
END $$;

CREATE FUNCTION os_close(p_id bigint, p_action text, p_status smallint)
RETURNS SETOF os_change LANGUAGE plpgsql AS $$
DECLARE o os_one; r os_res;
BEGIN
    o := os_close1(p_id, p_action, p_status);
    IF o.status = -1 THEN  -- several lines
        RETURN QUERY SELECT * FROM os_close_v1(p_id, p_action, p_status);
        RETURN;
    END IF;
    SELECT * INTO r FROM os_res WHERE id = p_id;
    RETURN QUERY SELECT * FROM os_res_row('r', p_id, false)
      UNION ALL SELECT * FROM os_one_changes(o, r.nodes[1], r.skus[1], false);
END $$;
"""


def _fill(script: str) -> str:
    return (
        script.replace("@PERIOD@", _PERIOD)
        .replace("@NO_LIMIT@", _NO_LIMIT)
        .replace("@UNLIMITED@", _UNLIMITED)
    )


#: The scripts after the first, in order (version 2 is LATER[0]).
LATER: tuple[str, ...] = (_fill(_V2_UNLIMITED), _fill(V3_EXTENSIONS))
