-- Events into the outbox, in the same transaction as the change they report: pending points
-- released (to the issuing partner), holds expired (to the holding partner), points expired (to
-- the issuing partner). Delivery happens later, at least once.
CREATE FUNCTION ledger_emit(partner text, kind text, data jsonb, now timestamptz) RETURNS void LANGUAGE sql AS $$
  INSERT INTO events (id, partner_id, type, data, created_at, next_attempt_at)
  VALUES ('evt_' || replace(gen_random_uuid()::text, '-', ''), partner, kind, data, now, now)
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ledger_release_due(member text, now timestamptz, id_prefix text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE lot record; n int := 0; pid text; debt bigint; pay bigint;
BEGIN
  FOR lot IN SELECT * FROM lots WHERE member_id = member AND NOT released AND available_at <= now ORDER BY available_at, id FOR UPDATE LOOP
    n := n + 1;
    pid := id_prefix || '_r' || n;
    IF lot.remaining > 0 THEN
      INSERT INTO postings (id, type, partner_id, member_id, points, created_at, original_id)
      VALUES (pid, 'release', lot.partner_id, member, lot.remaining, now, lot.id);
      PERFORM ledger_entry(pid, 'member:' || member || ':pending', -lot.remaining);
      PERFORM ledger_entry(pid, 'member:' || member || ':available', lot.remaining);
      SELECT greatest(-(available + held), 0) INTO debt FROM members WHERE id = member;
      UPDATE members SET pending = pending - lot.remaining, available = available + lot.remaining WHERE id = member;
      pay := least(debt, lot.remaining);
      UPDATE lots SET released = true, remaining = remaining - pay WHERE id = lot.id;
      IF pay > 0 THEN
        INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (pid, lot.id, -pay);
      END IF;
      PERFORM ledger_emit(lot.partner_id, 'points.released', jsonb_build_object(
        'member_id', member, 'transaction_id', lot.id, 'points', lot.remaining, 'released_at', ledger_ts(now)), now);
    ELSE
      UPDATE lots SET released = true WHERE id = lot.id;
    END IF;
  END LOOP;
  RETURN n;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ledger_expire_holds(member text, now timestamptz, id_prefix text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE h record; n int := 0; pid text;
BEGIN
  FOR h IN SELECT * FROM holds WHERE member_id = member AND status = 'authorized' AND expires_at <= now ORDER BY expires_at, id FOR UPDATE LOOP
    n := n + 1;
    pid := id_prefix || '_h' || n;
    INSERT INTO postings (id, type, partner_id, member_id, points, created_at, hold_id, reference)
    VALUES (pid, 'hold_release', h.partner_id, member, h.points, now, h.id, h.reference);
    PERFORM ledger_entry(pid, 'member:' || member || ':held', -h.points);
    PERFORM ledger_entry(pid, 'member:' || member || ':available', h.points);
    UPDATE members SET held = held - h.points, available = available + h.points WHERE id = member;
    UPDATE holds SET status = 'expired', closed_at = now WHERE id = h.id;
    PERFORM ledger_emit(h.partner_id, 'hold.expired', jsonb_build_object(
      'hold_id', h.id, 'member_id', member, 'points', h.points, 'reference', h.reference, 'expired_at', ledger_ts(now)), now);
  END LOOP;
  RETURN n;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ledger_expire_take(lot_id text, member text, partner text, take bigint, now timestamptz, pid text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO postings (id, type, partner_id, member_id, points, created_at, original_id)
  VALUES (pid, 'expiry', partner, member, take, now, lot_id);
  PERFORM ledger_entry(pid, 'member:' || member || ':available', -take);
  PERFORM ledger_entry(pid, 'operator:breakage', take);
  UPDATE members SET available = available - take WHERE id = member;
  UPDATE lots SET remaining = remaining - take WHERE id = lot_id;
  INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (pid, lot_id, -take);
  PERFORM ledger_emit(partner, 'points.expired', jsonb_build_object(
    'member_id', member, 'transaction_id', pid, 'points', take, 'earned_in', lot_id, 'expired_at', ledger_ts(now)), now);
END $$;
