-- Pending points released at their time and lapsed holds ended, by the job and before every posting that touches the member.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_release_due(member text, now timestamp with time zone, id_prefix text)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
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
      -- A referred member's first earn counts once it is released.
      PERFORM ledger_referral_qualify(member, lot.id, now);
    ELSE
      UPDATE lots SET released = true WHERE id = lot.id;
    END IF;
  END LOOP;
  RETURN n;
END $function$;

CREATE OR REPLACE FUNCTION ledger_expire_holds(member text, now timestamp with time zone, id_prefix text)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
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
END $function$;

CREATE OR REPLACE FUNCTION ledger_settle_member(member text, now timestamp with time zone, id_prefix text)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
  -- The member row first, always: every posting path locks member before lots and holds (no deadlocks).
  IF EXISTS (SELECT 1 FROM lots WHERE member_id = member AND NOT released AND available_at <= now)
     OR EXISTS (SELECT 1 FROM holds WHERE member_id = member AND status = 'authorized' AND expires_at <= now)
     OR EXISTS (SELECT 1 FROM referrals WHERE referrer_id = member AND qualified_at IS NOT NULL AND referrer_outcome IS NULL) THEN
    PERFORM 1 FROM members WHERE id = member FOR UPDATE;
  END IF;
  IF EXISTS (SELECT 1 FROM lots WHERE member_id = member AND NOT released AND available_at <= now) THEN
    PERFORM ledger_release_due(member, now, id_prefix);
  END IF;
  IF EXISTS (SELECT 1 FROM holds WHERE member_id = member AND status = 'authorized' AND expires_at <= now) THEN
    PERFORM ledger_expire_holds(member, now, id_prefix);
  END IF;
  -- Referrer bonuses that became due while this member was busy elsewhere.
  PERFORM ledger_referrer_pay_due(member, now);
END $function$;

CREATE OR REPLACE FUNCTION ledger_settle_due(now timestamp with time zone, max_members integer, id_prefix text)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE m record; n int := 0;
BEGIN
  FOR m IN SELECT DISTINCT member_id FROM (
             (SELECT member_id FROM lots WHERE NOT released AND available_at <= now ORDER BY available_at LIMIT max_members)
             UNION ALL
             (SELECT member_id FROM holds WHERE status = 'authorized' AND expires_at <= now ORDER BY expires_at LIMIT max_members)
             UNION ALL
             (SELECT referrer_id FROM referrals WHERE qualified_at IS NOT NULL AND referrer_outcome IS NULL ORDER BY qualified_at LIMIT max_members)) due
  LOOP
    -- One member at a time, skipping a busy one (the next run, or its own next posting, takes it):
    -- this run holds members one after another, and a transfer holds two, so it must never wait.
    PERFORM 1 FROM members WHERE id = m.member_id FOR UPDATE SKIP LOCKED;
    CONTINUE WHEN NOT FOUND;
    n := n + 1;
    PERFORM ledger_settle_member(m.member_id, now, id_prefix || '_' || n);
  END LOOP;
  RETURN n;
END $function$;
