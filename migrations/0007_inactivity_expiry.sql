-- Optional expiry after M months without activity: every lot of a member whose last activity
-- (an earn, burn, hold, reversal or link) is older than the cut-off expires, like a dated lot.
-- Both kinds of expiry post through one function.
CREATE FUNCTION ledger_expire_take(lot_id text, member text, partner text, take bigint, now timestamptz, pid text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO postings (id, type, partner_id, member_id, points, created_at, original_id)
  VALUES (pid, 'expiry', partner, member, take, now, lot_id);
  PERFORM ledger_entry(pid, 'member:' || member || ':available', -take);
  PERFORM ledger_entry(pid, 'operator:breakage', take);
  UPDATE members SET available = available - take WHERE id = member;
  UPDATE lots SET remaining = remaining - take WHERE id = lot_id;
  INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (pid, lot_id, -take);
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ledger_expire_lots(now timestamptz, max_lots int, id_prefix text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE lot record; n int := 0; take bigint;
BEGIN
  FOR lot IN SELECT id, member_id, partner_id FROM lots
              WHERE released AND remaining > 0 AND expires_at <= now
              ORDER BY expires_at, id LIMIT max_lots FOR UPDATE SKIP LOCKED LOOP
    PERFORM 1 FROM members WHERE id = lot.member_id FOR UPDATE;
    SELECT least(l.remaining, greatest(m.available, 0)) INTO take FROM lots l JOIN members m ON m.id = l.member_id WHERE l.id = lot.id;
    CONTINUE WHEN take <= 0;
    n := n + 1;
    PERFORM ledger_expire_take(lot.id, lot.member_id, lot.partner_id, take, now, id_prefix || '_x' || n);
  END LOOP;
  RETURN n;
END $$;
--> statement-breakpoint
CREATE FUNCTION ledger_expire_inactive(now timestamptz, cutoff timestamptz, max_lots int, id_prefix text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE lot record; n int := 0; take bigint;
BEGIN
  FOR lot IN SELECT l.id, l.member_id, l.partner_id FROM lots l JOIN members m ON m.id = l.member_id
              WHERE l.released AND l.remaining > 0 AND m.last_activity_at < cutoff
              ORDER BY l.expires_at, l.id LIMIT max_lots FOR UPDATE OF l SKIP LOCKED LOOP
    PERFORM 1 FROM members WHERE id = lot.member_id AND last_activity_at < cutoff FOR UPDATE;
    CONTINUE WHEN NOT FOUND;
    SELECT least(l.remaining, greatest(m.available, 0)) INTO take FROM lots l JOIN members m ON m.id = l.member_id WHERE l.id = lot.id;
    CONTINUE WHEN take <= 0;
    n := n + 1;
    PERFORM ledger_expire_take(lot.id, lot.member_id, lot.partner_id, take, now, id_prefix || '_i' || n);
  END LOOP;
  RETURN n;
END $$;
