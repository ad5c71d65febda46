-- Expiry jobs lock the member before its lot, as every posting path does. They used to lock the
-- lot first and then wait for the member, while a burn holding that member waited for the lot:
-- a deadlock Postgres broke by aborting one side. A member busy right now is skipped until the
-- next run (its lot stays due), and the lot is re-read under the member's lock.
CREATE OR REPLACE FUNCTION ledger_expire_lots(now timestamptz, max_lots int, id_prefix text) RETURNS int LANGUAGE plpgsql AS $$
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
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ledger_expire_inactive(now timestamptz, cutoff timestamptz, max_lots int, id_prefix text) RETURNS int LANGUAGE plpgsql AS $$
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
END $$;
