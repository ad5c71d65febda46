-- Optional expiry after M months without activity: every lot of a member whose last activity
-- (an earn, burn, hold, reversal or link) is older than the cut-off expires, like a dated lot.
CREATE FUNCTION ledger_expire_inactive(now timestamptz, cutoff timestamptz, max_lots int, id_prefix text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE lot record; n int := 0; pid text; take bigint;
BEGIN
  FOR lot IN SELECT l.id, l.member_id, l.partner_id FROM lots l JOIN members m ON m.id = l.member_id
              WHERE l.released AND l.remaining > 0 AND m.last_activity_at < cutoff
              ORDER BY l.expires_at, l.id LIMIT max_lots FOR UPDATE OF l SKIP LOCKED LOOP
    PERFORM 1 FROM members WHERE id = lot.member_id AND last_activity_at < cutoff FOR UPDATE;
    CONTINUE WHEN NOT FOUND;
    SELECT least(l.remaining, greatest(m.available, 0)) INTO take FROM lots l JOIN members m ON m.id = l.member_id WHERE l.id = lot.id;
    CONTINUE WHEN take <= 0;
    n := n + 1;
    pid := id_prefix || '_i' || n;
    INSERT INTO postings (id, type, partner_id, member_id, points, created_at, original_id)
    VALUES (pid, 'expiry', lot.partner_id, lot.member_id, take, now, lot.id);
    PERFORM ledger_entry(pid, 'member:' || lot.member_id || ':available', -take);
    PERFORM ledger_entry(pid, 'operator:breakage', take);
    UPDATE members SET available = available - take WHERE id = lot.member_id;
    UPDATE lots SET remaining = remaining - take WHERE id = lot.id;
    INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (pid, lot.id, -take);
  END LOOP;
  RETURN n;
END $$;
