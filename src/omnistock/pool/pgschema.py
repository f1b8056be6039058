"""The PostgreSQL schema of a shared stock pool: tables, and one function per operation.

Every operation is ONE call of a plpgsql function, so ONE round trip and ONE
transaction (the connection is in autocommit): an error raised inside rolls the
whole call back, a client killed mid-call leaves nothing half-applied. Locks
are taken in one fixed order, so two operations never deadlock: the
idempotency key (a transaction advisory lock), then reservations (ascending
id), then stock rows (ascending id), then nodes (ascending index).

The checks read exactly the pool's formulas (docs/semantics.md S3):
``free = max(0, on_hand - reserved - safety)``, ``limit = max(0, free -
protect)``; an exempt request may take ``free``, another ``limit``; a node may
give ``cap_left`` more units this period. A failed check raises SQLSTATE
``OS001``..``OS006`` with the details as JSON (:mod:`omnistock.pool.pgstore`
turns them into the library's own exceptions, with the in-process messages).

Schema versions: :data:`MIGRATIONS` lists the scripts in order; ``os_meta``
holds the version applied. Later versions (:mod:`.pgmigrations`) keep
version 1's functions under a ``_v1`` name and wrap them: the hot path's
calls and nodes without a limit (2), tiers, the protection table and a
locker's parcels (3).
"""

from __future__ import annotations

from omnistock.pool.pgmigrations import LATER

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

_TABLES = """
CREATE TABLE os_meta (name text PRIMARY KEY, value text NOT NULL);
CREATE TABLE os_node (
    idx integer PRIMARY KEY,
    id text NOT NULL UNIQUE,
    capacity bigint NOT NULL,   -- the scenario's capacity per period
    cap_left bigint NOT NULL,   -- what the node may still give this period
    protect bigint NOT NULL,
    ver bigint NOT NULL DEFAULT 0
);
CREATE TABLE os_row (
    id bigserial PRIMARY KEY,
    node_id text NOT NULL REFERENCES os_node (id),
    sku text NOT NULL,
    on_hand bigint NOT NULL,
    reserved bigint NOT NULL,
    held bigint NOT NULL,       -- reserved outside any pool reservation
    safety bigint NOT NULL,
    protect bigint NOT NULL,
    shipped bigint NOT NULL DEFAULT 0,
    received bigint NOT NULL DEFAULT 0,
    returned bigint NOT NULL DEFAULT 0,
    unsellable bigint NOT NULL DEFAULT 0,
    ver bigint NOT NULL DEFAULT 0,
    UNIQUE (node_id, sku),
    -- the last guard against oversell, whatever a function does
    CHECK (held >= 0 AND reserved >= held AND reserved <= on_hand)
);
CREATE TABLE os_res (
    id bigserial PRIMARY KEY,
    order_id text NOT NULL,
    key text,
    deadline double precision,
    exempt boolean NOT NULL,
    status smallint NOT NULL DEFAULT 1,
    amends bigint,
    -- the lines held now, and as issued when a partial commit or release
    -- changed them (NULL: as now; a keyed retry compares with these)
    nodes text[] NOT NULL, skus text[] NOT NULL, qtys bigint[] NOT NULL,
    i_nodes text[], i_skus text[], i_qtys bigint[]
);
-- Idempotency keys: unique, and only keyed reservations pay for the index.
CREATE UNIQUE INDEX os_res_key ON os_res (key) WHERE key IS NOT NULL;
-- No index reads os_res.status, so closing a reservation is a HOT update. The
-- active reservations with a deadline are listed in os_due, by deadline.
CREATE TABLE os_due (id bigint PRIMARY KEY, deadline double precision NOT NULL);
CREATE INDEX os_due_deadline ON os_due (deadline);
CREATE TYPE os_change AS (
    kind text, id bigint, ver bigint,
    a bigint, b bigint, c bigint, d bigint, e bigint, f bigint,
    t1 text, t2 text, deadline double precision, exempt boolean, amends bigint,
    nodes text[], skus text[], qtys bigint[]
);
"""

_HELPERS = r"""
CREATE FUNCTION os_fail(code text, detail jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = detail::text;
END $$;

-- Lock the stock rows of the lines, then their nodes, in ascending order.
CREATE FUNCTION os_lock(p_nodes text[], p_skus text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM os_row r
        WHERE (r.node_id, r.sku) IN (SELECT * FROM unnest(p_nodes, p_skus))
        ORDER BY r.id FOR UPDATE;
    PERFORM 1 FROM os_node n WHERE n.id = ANY (p_nodes) ORDER BY n.idx FOR UPDATE;
END $$;

-- Raise unless every line fits: known nodes, then stock per node-SKU, then
-- capacity per node (the order of the in-process checks).
CREATE FUNCTION os_check(p_nodes text[], p_skus text[], p_qtys bigint[],
                         p_exempt boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    i integer; n integer := cardinality(p_nodes); r record;
    need bigint; have bigint; cap bigint; why text;
BEGIN
    FOR i IN 1..n LOOP
        IF NOT EXISTS (SELECT 1 FROM os_node WHERE id = p_nodes[i]) THEN
            PERFORM os_fail('OS006', jsonb_build_object(
                'node', p_nodes[i], 'sku', p_skus[i], 'why', 'node'));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        need := p_qtys[i];
        IF n > 1 THEN
            SELECT sum(q) INTO need FROM unnest(p_nodes, p_skus, p_qtys) l(nd, sk, q)
                WHERE nd = p_nodes[i] AND sk = p_skus[i];
        END IF;
        SELECT greatest(0, on_hand - reserved - safety) AS fr, protect INTO r
            FROM os_row WHERE node_id = p_nodes[i] AND sku = p_skus[i];
        IF NOT FOUND THEN
            have := 0; why := 'norow';
        ELSE
            have := CASE WHEN p_exempt THEN r.fr ELSE greatest(0, r.fr - r.protect) END;
            why := CASE WHEN have < r.fr THEN 'protected' ELSE '' END;
        END IF;
        IF need > have THEN
            PERFORM os_fail('OS001', jsonb_build_object('node', p_nodes[i],
                'sku', p_skus[i], 'need', need, 'have', have, 'why', why));
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        need := p_qtys[i];
        IF n > 1 THEN
            SELECT sum(q) INTO need FROM unnest(p_nodes, p_qtys) l(nd, q)
                WHERE nd = p_nodes[i];
        END IF;
        SELECT cap_left INTO cap FROM os_node WHERE id = p_nodes[i];
        IF need > cap THEN
            PERFORM os_fail('OS001', jsonb_build_object('node', p_nodes[i],
                'sku', p_skus[i], 'need', need, 'have', greatest(cap, 0),
                'why', 'capacity'));
        END IF;
    END LOOP;
END $$;

-- Hold the lines' units (checked) and their node capacity.
CREATE FUNCTION os_put(p_nodes text[], p_skus text[], p_qtys bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE os_row r SET reserved = r.reserved + a.q, ver = r.ver + 1
        FROM (SELECT nd, sk, sum(q) q FROM unnest(p_nodes, p_skus, p_qtys) l(nd, sk, q)
              GROUP BY 1, 2) a
        WHERE r.node_id = a.nd AND r.sku = a.sk;
    UPDATE os_node n SET cap_left = n.cap_left - a.q, ver = n.ver + 1
        FROM (SELECT nd, sum(q) q FROM unnest(p_nodes, p_qtys) l(nd, q) GROUP BY 1) a
        WHERE n.id = a.nd;
$$;

-- Lower reserved by the lines: shipped (on_hand falls, the node keeps the
-- capacity it gave), or given back with the node capacity.
CREATE FUNCTION os_take(p_nodes text[], p_skus text[], p_qtys bigint[],
                        p_ship boolean) RETURNS void LANGUAGE sql AS $$
    UPDATE os_row r SET reserved = r.reserved - a.q,
            on_hand = r.on_hand - CASE WHEN p_ship THEN a.q ELSE 0 END,
            shipped = r.shipped + CASE WHEN p_ship THEN a.q ELSE 0 END,
            ver = r.ver + 1
        FROM (SELECT nd, sk, sum(q) q FROM unnest(p_nodes, p_skus, p_qtys) l(nd, sk, q)
              GROUP BY 1, 2) a
        WHERE r.node_id = a.nd AND r.sku = a.sk;
    UPDATE os_node n SET cap_left = n.cap_left + a.q, ver = n.ver + 1
        FROM (SELECT nd, sum(q) q FROM unnest(p_nodes, p_qtys) l(nd, q) GROUP BY 1) a
        WHERE n.id = a.nd AND NOT p_ship;
$$;

-- What a client's local copy needs after a change: the rows and nodes touched.
CREATE FUNCTION os_changes(p_nodes text[], p_skus text[]) RETURNS SETOF os_change
LANGUAGE sql STABLE AS $$
    SELECT 's', r.id, r.ver, r.on_hand, r.reserved, r.shipped, r.received,
           r.returned, r.unsellable, r.node_id, r.sku, NULL::float8, NULL::boolean,
           r.held, NULL::text[], NULL::text[], NULL::bigint[]
        FROM os_row r
        WHERE (r.node_id, r.sku) IN (SELECT * FROM unnest(p_nodes, p_skus))
    UNION ALL
    SELECT 'n', n.idx, n.ver, n.cap_left, NULL, NULL, NULL, NULL, NULL, n.id, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL
        FROM os_node n WHERE n.id = ANY (p_nodes);
$$;

CREATE FUNCTION os_row_change(w os_row) RETURNS os_change LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW('s', w.id, w.ver, w.on_hand, w.reserved, w.shipped, w.received,
        w.returned, w.unsellable, w.node_id, w.sku, NULL, NULL, w.held, NULL, NULL,
        NULL)::os_change;
$$;

CREATE FUNCTION os_node_change(n os_node) RETURNS os_change LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW('n', n.idx, n.ver, n.cap_left, NULL, NULL, NULL, NULL, NULL, n.id,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL)::os_change;
$$;

-- A reservation as a change row ('r'; kind 'k' for a keyed retry).
CREATE FUNCTION os_res_row(p_kind text, p_id bigint, p_issued boolean)
RETURNS SETOF os_change LANGUAGE sql STABLE AS $$
    SELECT p_kind, id, status::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
           NULL::bigint, NULL::bigint, NULL::bigint, order_id,
           key, deadline, exempt, amends,
           CASE WHEN p_issued THEN coalesce(i_nodes, nodes) ELSE nodes END,
           CASE WHEN p_issued THEN coalesce(i_skus, skus) ELSE skus END,
           CASE WHEN p_issued THEN coalesce(i_qtys, qtys) ELSE qtys END
        FROM os_res WHERE id = p_id;
$$;

-- The active reservation p_id, locked; else the error saying why not.
CREATE FUNCTION os_open(p_id bigint, p_action text) RETURNS os_res
LANGUAGE plpgsql AS $$
DECLARE r os_res;
BEGIN
    SELECT * INTO r FROM os_res WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM os_fail('OS002', jsonb_build_object('id', p_id));
    END IF;
    IF r.status <> 1 THEN
        PERFORM os_fail('OS003', jsonb_build_object('id', p_id, 'status', r.status,
                                                    'action', p_action));
    END IF;
    RETURN r;
END $$;
"""

_OPERATIONS = r"""
CREATE FUNCTION os_reserve(p_order text, p_key text, p_deadline double precision,
                           p_exempt boolean, p_nodes text[], p_skus text[],
                           p_qtys bigint[]) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
DECLARE rid bigint; rw os_row; nd os_node; cap bigint;
BEGIN
    IF p_key IS NOT NULL THEN
        -- Two requests under one key: the second waits, then sees the first.
        PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 0));
        SELECT id INTO rid FROM os_res WHERE key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT * FROM os_res_row('k', rid, true);
            RETURN;
        END IF;
    END IF;
    IF cardinality(p_nodes) = 1 THEN
        -- One line, the common case: two conditional updates (the row, then
        -- its node: the lock order), no diagnosis unless one refuses.
        UPDATE os_row w SET reserved = w.reserved + p_qtys[1], ver = w.ver + 1
            WHERE w.node_id = p_nodes[1] AND w.sku = p_skus[1]
              AND w.on_hand - w.reserved - w.safety
                  - CASE WHEN p_exempt THEN 0 ELSE greatest(w.protect, 0) END
                  >= p_qtys[1]
            RETURNING w.* INTO rw;
        IF FOUND THEN
            UPDATE os_node n SET cap_left = n.cap_left - p_qtys[1], ver = n.ver + 1
                WHERE n.id = p_nodes[1] AND n.cap_left >= p_qtys[1]
                RETURNING n.* INTO nd;
            IF NOT FOUND THEN  -- the stock fits: the node's capacity does not
                SELECT cap_left INTO cap FROM os_node WHERE id = p_nodes[1];
                PERFORM os_fail('OS001', jsonb_build_object('node', p_nodes[1],
                    'sku', p_skus[1], 'need', p_qtys[1], 'have', greatest(cap, 0),
                    'why', 'capacity'));
            END IF;
            INSERT INTO os_res (order_id, key, deadline, exempt, nodes, skus, qtys)
                VALUES (p_order, p_key, p_deadline, p_exempt, p_nodes, p_skus,
                        p_qtys)
                RETURNING id INTO rid;
            IF p_deadline IS NOT NULL THEN
                INSERT INTO os_due VALUES (rid, p_deadline);
            END IF;
            RETURN NEXT ROW('r', rid, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                NULL, NULL, NULL, NULL, NULL, NULL, NULL)::os_change;
            RETURN NEXT os_row_change(rw);
            RETURN NEXT os_node_change(nd);
            RETURN;
        END IF;
    END IF;
    PERFORM os_lock(p_nodes, p_skus);
    PERFORM os_check(p_nodes, p_skus, p_qtys, p_exempt);
    PERFORM os_put(p_nodes, p_skus, p_qtys);
    INSERT INTO os_res (order_id, key, deadline, exempt, nodes, skus, qtys)
        VALUES (p_order, p_key, p_deadline, p_exempt, p_nodes, p_skus, p_qtys)
        RETURNING id INTO rid;
    IF p_deadline IS NOT NULL THEN
        INSERT INTO os_due VALUES (rid, p_deadline);
    END IF;
    RETURN QUERY SELECT 'r', rid, 1::bigint, NULL::bigint, NULL::bigint,
        NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
        NULL::text, NULL::float8, NULL::boolean, NULL::bigint, NULL::text[],
        NULL::text[], NULL::bigint[]
      UNION ALL SELECT * FROM os_changes(p_nodes, p_skus);
END $$;

-- Commit (status 2) or release (3) a whole reservation.
CREATE FUNCTION os_close(p_id bigint, p_action text, p_status smallint)
RETURNS SETOF os_change LANGUAGE plpgsql AS $$
DECLARE r os_res; rw os_row; nd os_node;
BEGIN
    UPDATE os_res SET status = p_status WHERE id = p_id AND status = 1
        RETURNING * INTO r;
    IF r.deadline IS NOT NULL THEN
        DELETE FROM os_due WHERE id = p_id;
    END IF;
    IF FOUND AND cardinality(r.nodes) = 1 THEN  -- one line: the row, its node
        UPDATE os_row w SET reserved = w.reserved - r.qtys[1],
                on_hand = w.on_hand - CASE WHEN p_status = 2 THEN r.qtys[1] ELSE 0 END,
                shipped = w.shipped + CASE WHEN p_status = 2 THEN r.qtys[1] ELSE 0 END,
                ver = w.ver + 1
            WHERE w.node_id = r.nodes[1] AND w.sku = r.skus[1]
            RETURNING w.* INTO rw;
        RETURN NEXT ROW('r', p_id, p_status, NULL, NULL, NULL, NULL, NULL, NULL,
            r.order_id, r.key, r.deadline, r.exempt, r.amends, r.nodes, r.skus,
            r.qtys)::os_change;
        RETURN NEXT os_row_change(rw);
        IF p_status <> 2 THEN
            UPDATE os_node n SET cap_left = n.cap_left + r.qtys[1], ver = n.ver + 1
                WHERE n.id = r.nodes[1] RETURNING n.* INTO nd;
            RETURN NEXT os_node_change(nd);
        END IF;
        RETURN;
    END IF;
    IF NOT FOUND THEN
        r := os_open(p_id, p_action);  -- raises: unknown, or no longer active
    END IF;
    PERFORM os_lock(r.nodes, r.skus);
    PERFORM os_take(r.nodes, r.skus, r.qtys, p_status = 2);
    RETURN QUERY SELECT * FROM os_res_row('r', p_id, false)
      UNION ALL SELECT * FROM os_changes(r.nodes, r.skus);
END $$;

-- A partial commit or release: take the lines, keep p_rest (checked by the
-- client on the reservation it locked in the same transaction).
CREATE FUNCTION os_part(p_id bigint, p_status smallint, p_nodes text[],
                        p_skus text[], p_qtys bigint[], r_nodes text[],
                        r_skus text[], r_qtys bigint[]) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM os_lock(p_nodes, p_skus);
    PERFORM os_take(p_nodes, p_skus, p_qtys, p_status = 2);
    IF cardinality(r_nodes) = 0 THEN
        UPDATE os_res SET status = p_status WHERE id = p_id;
        DELETE FROM os_due WHERE id = p_id;
    ELSE
        UPDATE os_res SET i_nodes = coalesce(i_nodes, nodes),
                i_skus = coalesce(i_skus, skus), i_qtys = coalesce(i_qtys, qtys),
                nodes = r_nodes, skus = r_skus, qtys = r_qtys
            WHERE id = p_id;
    END IF;
    RETURN QUERY SELECT * FROM os_changes(p_nodes, p_skus);
END $$;

CREATE FUNCTION os_amend(p_old bigint, p_key text, p_new_deadline boolean,
                         p_deadline double precision, p_nodes text[],
                         p_skus text[], p_qtys bigint[]) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
DECLARE r os_res; rid bigint;
BEGIN
    IF p_key IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_key, 0));
        SELECT id INTO rid FROM os_res WHERE key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT * FROM os_res_row('k', rid, true);
            RETURN;
        END IF;
    END IF;
    r := os_open(p_old, 'amend');
    PERFORM os_lock(r.nodes || p_nodes, r.skus || p_skus);
    -- As if released: the old units count as free; an error rolls it back.
    PERFORM os_take(r.nodes, r.skus, r.qtys, false);
    PERFORM os_check(p_nodes, p_skus, p_qtys, r.exempt);
    PERFORM os_put(p_nodes, p_skus, p_qtys);
    UPDATE os_res SET status = 5 WHERE id = p_old;
    DELETE FROM os_due WHERE id = p_old;
    INSERT INTO os_res (order_id, key, deadline, exempt, amends, nodes, skus, qtys)
        VALUES (r.order_id, p_key,
                CASE WHEN p_new_deadline THEN p_deadline ELSE r.deadline END,
                r.exempt, p_old, p_nodes, p_skus, p_qtys)
        RETURNING id, deadline INTO rid, r.deadline;
    IF r.deadline IS NOT NULL THEN
        INSERT INTO os_due VALUES (rid, r.deadline);
    END IF;
    RETURN QUERY SELECT * FROM os_res_row('r', rid, false)
      UNION ALL SELECT * FROM os_changes(r.nodes || p_nodes, r.skus || p_skus);
END $$;

-- Release every active reservation due at p_now (found by the deadline index).
CREATE FUNCTION os_expire(p_now double precision) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
DECLARE ids bigint[]; ns text[]; ss text[]; qs bigint[];
BEGIN
    SELECT array_agg(id) INTO ids FROM (
        SELECT id FROM os_res WHERE status = 1
            AND id IN (SELECT id FROM os_due WHERE deadline <= p_now)
        ORDER BY id FOR UPDATE) due;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM os_due WHERE id = ANY (ids);
    SELECT array_agg(u.nd), array_agg(u.sk), array_agg(u.q) INTO ns, ss, qs
        FROM os_res r, unnest(r.nodes, r.skus, r.qtys) u(nd, sk, q)
        WHERE r.id = ANY (ids);
    PERFORM os_lock(ns, ss);
    PERFORM os_take(ns, ss, qs, false);
    UPDATE os_res SET status = 4 WHERE id = ANY (ids);
    RETURN QUERY SELECT 'x', r.id, 4::bigint, NULL::bigint, NULL::bigint,
        NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
        NULL::text, r.deadline, NULL::boolean, NULL::bigint, NULL::text[],
        NULL::text[], NULL::bigint[]
        FROM os_res r WHERE r.id = ANY (ids)
      UNION ALL SELECT * FROM os_changes(ns, ss);
END $$;

-- The row of (node, sku), locked; added empty when p_add (a receipt or return).
CREATE FUNCTION os_row_for(p_node text, p_sku text, p_add boolean) RETURNS os_row
LANGUAGE plpgsql AS $$
DECLARE r os_row; prot bigint;
BEGIN
    SELECT protect INTO prot FROM os_node WHERE id = p_node;
    IF NOT FOUND THEN
        PERFORM os_fail('OS006', jsonb_build_object('node', p_node, 'sku', p_sku,
                                                    'why', 'node'));
    END IF;
    SELECT * INTO r FROM os_row WHERE node_id = p_node AND sku = p_sku FOR UPDATE;
    IF NOT FOUND AND p_add THEN
        INSERT INTO os_row (node_id, sku, on_hand, reserved, held, safety, protect)
            VALUES (p_node, p_sku, 0, 0, 0, 0, prot) ON CONFLICT DO NOTHING;
        SELECT * INTO r FROM os_row WHERE node_id = p_node AND sku = p_sku FOR UPDATE;
    END IF;
    RETURN r;
END $$;

CREATE FUNCTION os_adjust(p_node text, p_sku text, p_delta bigint, p_reason text)
RETURNS SETOF os_change LANGUAGE plpgsql AS $$
DECLARE r os_row;
BEGIN
    r := os_row_for(p_node, p_sku, p_delta > 0);
    IF r.id IS NULL THEN
        PERFORM os_fail('OS006', jsonb_build_object('node', p_node, 'sku', p_sku,
                                                    'why', 'adjust'));
    END IF;
    IF r.on_hand + p_delta < r.reserved OR r.on_hand + p_delta > 1099511627776 THEN
        PERFORM os_fail('OS005', jsonb_build_object('node', p_node, 'sku', p_sku,
            'delta', p_delta, 'on_hand', r.on_hand, 'reserved', r.reserved,
            'above', r.on_hand + p_delta >= r.reserved));
    END IF;
    UPDATE os_row SET on_hand = on_hand + p_delta, received = received + p_delta,
        ver = ver + 1 WHERE id = r.id;
    RETURN QUERY SELECT * FROM os_changes(ARRAY[p_node], ARRAY[p_sku]);
END $$;

CREATE FUNCTION os_return(p_order text, p_node text, p_sku text, p_qty bigint,
                          p_restock boolean, p_reason text)
RETURNS SETOF os_change LANGUAGE plpgsql AS $$
DECLARE r os_row; have bigint;
BEGIN
    r := os_row_for(p_node, p_sku, true);
    have := CASE WHEN p_restock THEN r.on_hand ELSE r.unsellable END;
    IF have + p_qty > 1099511627776 THEN
        PERFORM os_fail('OS005', jsonb_build_object('node', p_node, 'sku', p_sku,
            'delta', p_qty, 'on_hand', r.on_hand, 'reserved', r.reserved,
            'above', true));
    END IF;
    IF p_restock THEN
        UPDATE os_row SET on_hand = on_hand + p_qty, returned = returned + p_qty,
            ver = ver + 1 WHERE id = r.id;
    ELSE
        UPDATE os_row SET unsellable = unsellable + p_qty, ver = ver + 1
            WHERE id = r.id;
    END IF;
    RETURN QUERY SELECT * FROM os_changes(ARRAY[p_node], ARRAY[p_sku]);
END $$;

-- A new capacity period: the scenario capacity or the one given (NULL: no
-- limit), less what active reservations hold at each node.
CREATE FUNCTION os_period(p_nodes text[], p_caps bigint[]) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM os_node ORDER BY idx FOR UPDATE;
    UPDATE os_node n SET ver = n.ver + 1,
        cap_left = coalesce(g.given, n.capacity) - coalesce(h.q, 0)
        FROM os_node m
        LEFT JOIN (SELECT nd, CASE WHEN c IS NULL THEN 2305843009213693951 ELSE c END
                   FROM unnest(p_nodes, p_caps) u(nd, c)) g(nd, given) ON g.nd = m.id
        LEFT JOIN (SELECT u.nd, sum(u.q) FROM os_res r, unnest(r.nodes, r.qtys) u(nd, q)
                   WHERE r.status = 1 GROUP BY u.nd) h(nd, q) ON h.nd = m.id
        WHERE n.idx = m.idx;
    RETURN QUERY SELECT * FROM os_changes((SELECT array_agg(id) FROM os_node),
                                          ARRAY[]::text[]);
END $$;
"""

#: Migration scripts, in order: version i + 1 is reached by MIGRATIONS[i].
MIGRATIONS: tuple[str, ...] = (_TABLES + _HELPERS + _OPERATIONS, *LATER)

#: The schema version this library writes and reads.
SCHEMA_VERSION = len(MIGRATIONS)
