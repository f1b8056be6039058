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
"""

from __future__ import annotations

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

_V3_LOCKERS = r"""
-- Version 3 (issue 18, S11): a locker's parcels. A locker's node counter
-- counts parcels (capacity_left, as in process); a reservation at a locker
-- holds one a shipping node (os_res.parcels, computed by the client with the
-- library's one copy, pool/parcels.py). Locker nodes are locked AFTER the
-- lines' nodes (a locker is never a line's node), by index: the node order
-- becomes (locker or not, index). Version 2's functions are wrapped.
ALTER FUNCTION os_close(bigint, text, smallint) RENAME TO os_close_v2;
ALTER FUNCTION os_expire(double precision) RENAME TO os_expire_v1;
ALTER FUNCTION os_period(text[], bigint[]) RENAME TO os_period_v2;
ALTER FUNCTION os_amend(bigint, text, boolean, double precision, text[], text[],
                        bigint[]) RENAME TO os_amend_v1;

-- A keyed retry: the reservation made under p_key as a 'k' row (nothing when
-- none); the key stays locked for this transaction.
CREATE FUNCTION os_retry(p_key text) RETURNS SETOF os_change LANGUAGE plpgsql AS $$
BEGIN
    IF p_key IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 0));
        RETURN QUERY SELECT k.* FROM os_res r, os_res_row('k', r.id, true) k
            WHERE r.key = p_key;
    END IF;
END $$;

-- Give p_delta parcels back to a locker (negative: take them); a locker
-- without a limit is never counted.
CREATE FUNCTION os_parcels(p_locker text, p_delta bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE os_node SET cap_left = cap_left + p_delta, ver = ver + 1
        WHERE id = p_locker AND p_delta <> 0 AND cap_left < @UNLIMITED@;
$$;

-- Take p_need parcels at p_locker, p_back of them given back first (an
-- amend's own); raise when it has fewer left.
CREATE FUNCTION os_take_parcels(p_locker text, p_need bigint, p_sku text,
                                p_back bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE left_ bigint;
BEGIN
    SELECT cap_left INTO left_ FROM os_node WHERE id = p_locker;
    IF left_ < @UNLIMITED@ THEN  -- a limit: lock the counter, read it again
        SELECT cap_left INTO left_ FROM os_node WHERE id = p_locker FOR UPDATE;
    END IF;
    left_ := left_ + p_back;
    IF p_need > left_ THEN
        PERFORM os_fail('OS001', jsonb_build_object('node', p_locker, 'sku', p_sku,
            'need', p_need, 'have', greatest(left_, 0), 'why', 'locker'));
    END IF;
    PERFORM os_parcels(p_locker, p_back - p_need);
END $$;

-- A reservation's locker and parcels as a change row ('p'; the client reads it).
CREATE FUNCTION os_parcel_row(p_id bigint) RETURNS SETOF os_change
LANGUAGE sql STABLE AS $$
    SELECT 'p', id, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
           NULL::bigint, NULL::bigint, NULL::bigint, locker, NULL::text,
           NULL::float8, NULL::boolean, NULL::bigint, parcels, NULL::text[],
           NULL::bigint[]
        FROM os_res WHERE id = p_id;
$$;

CREATE FUNCTION os_reserve_at(p_order text, p_key text, p_deadline double precision,
        p_exempt boolean, p_nodes text[], p_skus text[], p_qtys bigint[],
        p_locker text, p_parcels text[]) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
DECLARE rid bigint;
BEGIN
    RETURN QUERY SELECT * FROM os_retry(p_key);
    IF FOUND THEN
        RETURN;
    END IF;
    PERFORM os_lock(p_nodes, p_skus);
    PERFORM os_check(p_nodes, p_skus, p_qtys, p_exempt);
    PERFORM os_take_parcels(p_locker, cardinality(p_parcels), p_skus[1], 0);
    PERFORM os_put(p_nodes, p_skus, p_qtys);
    INSERT INTO os_res (order_id, key, deadline, exempt, nodes, skus, qtys, locker,
                        parcels)
        VALUES (p_order, p_key, p_deadline, p_exempt, p_nodes, p_skus, p_qtys,
                p_locker, p_parcels)
        RETURNING id INTO rid;
    IF p_deadline IS NOT NULL THEN
        INSERT INTO os_due VALUES (rid, p_deadline);
    END IF;
    RETURN QUERY SELECT * FROM os_res_row('r', rid, false)
      UNION ALL SELECT * FROM os_changes(p_nodes || p_locker, p_skus);
END $$;

-- An amend at a locker: os_amend's steps with the parcels between the check
-- and the insert (every check before the insert: a refused amend takes no
-- reservation id): the old reservation's given back, the new one's taken at
-- p_locker (p_keep: the old one's locker), checked with the old ones free.
CREATE FUNCTION os_amend_at(p_old bigint, p_key text, p_new_deadline boolean,
        p_deadline double precision, p_nodes text[], p_skus text[], p_qtys bigint[],
        p_locker text, p_keep boolean, p_parcels text[]) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
DECLARE r os_res; rid bigint; lk text; back bigint;
BEGIN
    RETURN QUERY SELECT * FROM os_retry(p_key);
    IF FOUND THEN
        RETURN;
    END IF;
    r := os_open(p_old, 'amend');
    PERFORM os_lock(r.nodes || p_nodes, r.skus || p_skus);
    -- As if released: the old units count as free; an error rolls it back.
    PERFORM os_take(r.nodes, r.skus, r.qtys, false);
    PERFORM os_check(p_nodes, p_skus, p_qtys, r.exempt);
    lk := CASE WHEN p_keep THEN r.locker ELSE p_locker END;
    back := coalesce(cardinality(r.parcels), 0);
    PERFORM 1 FROM os_node WHERE id IN (r.locker, lk) ORDER BY idx FOR UPDATE;
    IF lk IS NOT NULL THEN
        PERFORM os_take_parcels(lk, cardinality(p_parcels), p_skus[1],
            CASE WHEN lk = r.locker THEN back ELSE 0 END);
    END IF;
    IF r.locker IS DISTINCT FROM lk THEN
        PERFORM os_parcels(r.locker, back);
    END IF;
    PERFORM os_put(p_nodes, p_skus, p_qtys);
    UPDATE os_res SET status = 5 WHERE id = p_old;
    DELETE FROM os_due WHERE id = p_old;
    INSERT INTO os_res (order_id, key, deadline, exempt, amends, nodes, skus, qtys,
                        locker, parcels)
        VALUES (r.order_id, p_key,
                CASE WHEN p_new_deadline THEN p_deadline ELSE r.deadline END,
                r.exempt, p_old, p_nodes, p_skus, p_qtys, lk,
                CASE WHEN lk IS NULL THEN NULL ELSE p_parcels END)
        RETURNING id, deadline INTO rid, r.deadline;
    IF r.deadline IS NOT NULL THEN
        INSERT INTO os_due VALUES (rid, r.deadline);
    END IF;
    RETURN QUERY SELECT * FROM os_res_row('r', rid, false)
      UNION ALL SELECT * FROM os_parcel_row(rid)
      UNION ALL SELECT * FROM os_changes(r.nodes || p_nodes || r.locker || lk,
                                         r.skus || p_skus);
END $$;

-- Version 1's amend keeps its answer and now keeps the parcels too.
CREATE FUNCTION os_amend(p_old bigint, p_key text, p_new_deadline boolean,
        p_deadline double precision, p_nodes text[], p_skus text[], p_qtys bigint[])
RETURNS SETOF os_change LANGUAGE sql AS $$
    SELECT * FROM os_amend_at(p_old, p_key, p_new_deadline, p_deadline, p_nodes,
        p_skus, p_qtys, NULL, true,
        ARRAY(SELECT DISTINCT u COLLATE "C" FROM unnest(p_nodes) u ORDER BY 1))
    WHERE kind <> 'p';
$$;

-- A partial commit or release at a locker: os_part's lines, then the
-- parcels the client settled (kept ones, and how many go back).
CREATE FUNCTION os_part_at(p_id bigint, p_status smallint, p_nodes text[],
        p_skus text[], p_qtys bigint[], r_nodes text[], r_skus text[],
        r_qtys bigint[], p_parcels text[], p_given bigint) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
DECLARE lk text;
BEGIN
    SELECT locker INTO lk FROM os_res WHERE id = p_id;  -- locked by the client
    PERFORM os_part(p_id, p_status, p_nodes, p_skus, p_qtys, r_nodes, r_skus, r_qtys);
    UPDATE os_res SET parcels = p_parcels WHERE id = p_id;
    PERFORM os_parcels(lk, p_given);
    RETURN QUERY SELECT * FROM os_changes(p_nodes || lk, p_skus);
END $$;

CREATE FUNCTION os_close(p_id bigint, p_action text, p_status smallint)
RETURNS SETOF os_change LANGUAGE plpgsql AS $$
DECLARE r os_res;
BEGIN
    r := os_open(p_id, p_action);  -- raises: unknown, or no longer active
    IF r.locker IS NULL THEN
        RETURN QUERY SELECT * FROM os_close_v2(p_id, p_action, p_status);
        RETURN;
    END IF;
    UPDATE os_res SET status = p_status WHERE id = p_id;
    DELETE FROM os_due WHERE id = p_id;
    PERFORM os_lock(r.nodes, r.skus);
    PERFORM os_take(r.nodes, r.skus, r.qtys, p_status = 2);
    IF p_status <> 2 THEN  -- released: its parcels go back; a commit used them
        PERFORM os_parcels(r.locker, coalesce(cardinality(r.parcels), 0));
    END IF;
    RETURN QUERY SELECT * FROM os_res_row('r', p_id, false)
      UNION ALL SELECT * FROM os_parcel_row(p_id)
      UNION ALL SELECT * FROM os_changes(r.nodes || r.locker, r.skus);
END $$;

CREATE FUNCTION os_expire(p_now double precision) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
DECLARE chg os_change[]; ids bigint[]; lk text[];
BEGIN
    SELECT array_agg(ROW(c.*)::os_change) INTO chg FROM os_expire_v1(p_now) c;
    IF chg IS NULL THEN
        RETURN;
    END IF;
    SELECT array_agg(x.id) INTO ids FROM unnest(chg) x WHERE x.kind = 'x';
    SELECT array_agg(DISTINCT locker) INTO lk FROM os_res
        WHERE id = ANY (ids) AND locker IS NOT NULL;
    IF lk IS NOT NULL THEN  -- their parcels go back, lockers locked last
        PERFORM 1 FROM os_node WHERE id = ANY (lk) ORDER BY idx FOR UPDATE;
        UPDATE os_node n SET cap_left = n.cap_left + g.p, ver = n.ver + 1
            FROM (SELECT locker, sum(coalesce(cardinality(parcels), 0)) p
                  FROM os_res WHERE id = ANY (ids) AND locker IS NOT NULL
                  GROUP BY locker) g
            WHERE n.id = g.locker AND n.cap_left < @UNLIMITED@;
    END IF;
    RETURN QUERY SELECT * FROM unnest(chg)
      UNION ALL SELECT * FROM os_changes(lk, ARRAY[]::text[]);
END $$;

-- A new period, then each locker less the parcels active reservations hold.
CREATE FUNCTION os_period(p_nodes text[], p_caps bigint[]) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM os_period_v2(p_nodes, p_caps);
    UPDATE os_node n SET cap_left = n.cap_left - h.p, ver = n.ver + 1
        FROM (SELECT locker, sum(coalesce(cardinality(parcels), 0)) p FROM os_res
              WHERE status = 1 AND locker IS NOT NULL GROUP BY locker) h
        WHERE n.id = h.locker AND n.cap_left < @UNLIMITED@;
    RETURN QUERY SELECT * FROM os_changes((SELECT array_agg(id) FROM os_node),
                                          ARRAY[]::text[]);
END $$;
"""


def _fill(script: str) -> str:
    return (
        script.replace("@PERIOD@", _PERIOD)
        .replace("@NO_LIMIT@", _NO_LIMIT)
        .replace("@UNLIMITED@", _UNLIMITED)
    )


#: The scripts after the first, in order (version 2 is LATER[0]).
LATER: tuple[str, ...] = (_fill(_V2_UNLIMITED), _fill(_V3_LOCKERS))
