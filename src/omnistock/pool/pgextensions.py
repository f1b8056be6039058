"""Schema version 3 of the PostgreSQL pool: tiers, the protection table, lockers.

The script is filled and appended by :mod:`omnistock.pool.pgmigrations`
(``@UNLIMITED@`` is its threshold of a counter without a limit); see there for
what version 3 keeps and how.
"""

from __future__ import annotations

__all__ = ["V3_EXTENSIONS"]

#: Version 3's script (placeholders filled by pgmigrations).
V3_EXTENSIONS = r"""
-- Version 3 (issue 18): tiers and the protection table (contract v1.2), and
-- a locker's parcels (S11). A locker's node counter
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

-- Contract v1.2 (S4 v1.2): a reservation's tier, and the protection table. A
-- reservation of tier t may take max(0, free - u_t(r)) of a row, u_t(r) the
-- table's entry, else v1's rule on the tier's exemption (os_kept).
ALTER TABLE os_res ADD COLUMN tier text;
CREATE TABLE os_prot (
    node_id text NOT NULL REFERENCES os_node (id),
    sku text NOT NULL,
    tier text NOT NULL,
    units bigint NOT NULL,
    pos integer NOT NULL,       -- the entry's place in the table as given
    PRIMARY KEY (node_id, sku, tier)
);
INSERT INTO os_meta VALUES ('protection', '0');

-- u_t(r): the units a reservation of p_tier (p_exempt: its exemption) must
-- leave in the row of (p_node, p_sku); no tier is v1's rule.
CREATE FUNCTION os_kept(p_node text, p_sku text, p_tier text, p_exempt boolean,
                        p_protect bigint) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT units FROM os_prot
            WHERE node_id = p_node AND sku = p_sku AND tier = p_tier),
        CASE WHEN p_exempt THEN 0 ELSE greatest(p_protect, 0) END);
$$;

-- os_check for a reservation of a tier: known nodes, stock per node-SKU
-- against max(0, free - u_t(r)), then capacity (os_check, the tier's stock
-- bound being the stricter one, says the rest in the in-process order).
CREATE FUNCTION os_check_t(p_nodes text[], p_skus text[], p_qtys bigint[],
                           p_exempt boolean, p_tier text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE i integer; need bigint; fr bigint; prot bigint; have bigint; why text;
BEGIN
    IF p_tier IS NULL THEN
        PERFORM os_check(p_nodes, p_skus, p_qtys, p_exempt);
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_nodes) nd
               WHERE NOT EXISTS (SELECT 1 FROM os_node WHERE id = nd)) THEN
        PERFORM os_check(p_nodes, p_skus, p_qtys, true);  -- raises: the node
    END IF;
    FOR i IN 1..cardinality(p_nodes) LOOP
        SELECT sum(q) INTO need FROM unnest(p_nodes, p_skus, p_qtys) l(nd, sk, q)
            WHERE nd = p_nodes[i] AND sk = p_skus[i];
        SELECT greatest(0, on_hand - reserved - safety), protect INTO fr, prot
            FROM os_row WHERE node_id = p_nodes[i] AND sku = p_skus[i];
        have := CASE WHEN fr IS NULL THEN 0 ELSE greatest(0,
            fr - os_kept(p_nodes[i], p_skus[i], p_tier, p_exempt, prot)) END;
        why := CASE WHEN fr IS NULL THEN 'norow'
                    WHEN NOT p_exempt AND have < fr THEN 'protected' ELSE '' END;
        IF need > have THEN
            PERFORM os_fail('OS001', jsonb_build_object('node', p_nodes[i],
                'sku', p_skus[i], 'need', need, 'have', have, 'why', why));
        END IF;
    END LOOP;
    PERFORM os_check(p_nodes, p_skus, p_qtys, true);  -- node capacity
END $$;

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

-- A reservation's locker, parcels and tier as a change row ('p'; the client
-- reads it: t1 the locker, t2 the tier, nodes the parcels).
CREATE FUNCTION os_parcel_row(p_id bigint) RETURNS SETOF os_change
LANGUAGE sql STABLE AS $$
    SELECT 'p', id, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
           NULL::bigint, NULL::bigint, NULL::bigint, locker, tier,
           NULL::float8, NULL::boolean, NULL::bigint, parcels, NULL::text[],
           NULL::bigint[]
        FROM os_res WHERE id = p_id;
$$;

CREATE FUNCTION os_reserve_at(p_order text, p_key text, p_deadline double precision,
        p_exempt boolean, p_nodes text[], p_skus text[], p_qtys bigint[],
        p_locker text, p_parcels text[], p_tier text) RETURNS SETOF os_change
LANGUAGE plpgsql AS $$
DECLARE rid bigint;
BEGIN
    RETURN QUERY SELECT * FROM os_retry(p_key);
    IF FOUND THEN
        RETURN;
    END IF;
    PERFORM os_lock(p_nodes, p_skus);
    PERFORM os_check_t(p_nodes, p_skus, p_qtys, p_exempt, p_tier);
    IF p_locker IS NOT NULL THEN
        PERFORM os_take_parcels(p_locker, cardinality(p_parcels), p_skus[1], 0);
    END IF;
    PERFORM os_put(p_nodes, p_skus, p_qtys);
    INSERT INTO os_res (order_id, key, deadline, exempt, nodes, skus, qtys, locker,
                        parcels, tier)
        VALUES (p_order, p_key, p_deadline, p_exempt, p_nodes, p_skus, p_qtys,
                p_locker, p_parcels, p_tier)
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
    PERFORM os_check_t(p_nodes, p_skus, p_qtys, r.exempt, r.tier);
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
                        locker, parcels, tier)
        VALUES (r.order_id, p_key,
                CASE WHEN p_new_deadline THEN p_deadline ELSE r.deadline END,
                r.exempt, p_old, p_nodes, p_skus, p_qtys, lk,
                CASE WHEN lk IS NULL THEN NULL ELSE p_parcels END, r.tier)
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
