-- Expiry: lots past their date, or all of a member's points after inactivity, into breakage.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_expire_take(lot_id text, member text, partner text, take bigint, now timestamp with time zone, pid text)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE origin text := (SELECT l.origin_id FROM lots l WHERE l.id = lot_id);
BEGIN
  -- Attributed to the issuer (null: points the operator issued), pointing at the posting that credited them.
  INSERT INTO postings (id, type, partner_id, member_id, points, created_at, original_id)
  VALUES (pid, 'expiry', partner, member, take, now, origin);
  PERFORM ledger_entry(pid, 'member:' || member || ':available', -take);
  PERFORM ledger_entry(pid, 'operator:breakage', take);
  UPDATE members SET available = available - take WHERE id = member;
  UPDATE lots SET remaining = remaining - take WHERE id = lot_id;
  INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (pid, lot_id, -take);
  IF partner IS NOT NULL THEN
    PERFORM ledger_emit(partner, 'points.expired', jsonb_build_object(
      'member_id', member, 'transaction_id', pid, 'points', take, 'earned_in', origin, 'expired_at', ledger_ts(now)), now);
  END IF;
END $function$;

CREATE OR REPLACE FUNCTION ledger_expire_lots(now timestamp with time zone, max_lots integer, id_prefix text)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE lot record; n int := 0; take bigint;
BEGIN
  FOR lot IN SELECT id, member_id, partner_id FROM lots
              WHERE released AND remaining > 0 AND expires_at <= now
              ORDER BY expires_at, id LIMIT max_lots LOOP
    PERFORM 1 FROM members WHERE id = lot.member_id FOR UPDATE SKIP LOCKED;
    CONTINUE WHEN NOT FOUND;
    PERFORM 1 FROM lots WHERE id = lot.id AND released AND remaining > 0 AND expires_at <= now FOR UPDATE;
    CONTINUE WHEN NOT FOUND;
    SELECT least(l.remaining, greatest(m.available, 0)) INTO take FROM lots l JOIN members m ON m.id = l.member_id WHERE l.id = lot.id;
    CONTINUE WHEN take <= 0;
    n := n + 1;
    PERFORM ledger_expire_take(lot.id, lot.member_id, lot.partner_id, take, now, id_prefix || '_x' || n);
  END LOOP;
  RETURN n;
END $function$;

CREATE OR REPLACE FUNCTION ledger_expire_inactive(now timestamp with time zone, cutoff timestamp with time zone, max_lots integer, id_prefix text)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE lot record; n int := 0; take bigint;
BEGIN
  FOR lot IN SELECT l.id, l.member_id, l.partner_id FROM lots l JOIN members m ON m.id = l.member_id
              WHERE l.released AND l.remaining > 0 AND m.last_activity_at < cutoff
              ORDER BY l.expires_at, l.id LIMIT max_lots LOOP
    PERFORM 1 FROM members WHERE id = lot.member_id AND last_activity_at < cutoff FOR UPDATE SKIP LOCKED;
    CONTINUE WHEN NOT FOUND;
    PERFORM 1 FROM lots WHERE id = lot.id AND released AND remaining > 0 FOR UPDATE;
    CONTINUE WHEN NOT FOUND;
    SELECT least(l.remaining, greatest(m.available, 0)) INTO take FROM lots l JOIN members m ON m.id = l.member_id WHERE l.id = lot.id;
    CONTINUE WHEN take <= 0;
    n := n + 1;
    PERFORM ledger_expire_take(lot.id, lot.member_id, lot.partner_id, take, now, id_prefix || '_i' || n);
  END LOOP;
  RETURN n;
END $function$;
