-- Lots: earned points with their issuer, locked prices and expiry. Spending takes the oldest first; refunds go back to the lots a burn spent; lot moves carry the facts settlement reads.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_spend(member text, amount bigint, into_held boolean, now timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
  UPDATE members SET available = available - amount,
                     held = held + CASE WHEN into_held THEN amount ELSE 0 END,
                     last_activity_at = now
   WHERE id = member AND available >= amount;
  IF NOT FOUND THEN
    PERFORM ledger_refusal('insufficient_points',
      format('The member has %s points available; %s were asked for.', (SELECT available FROM members WHERE id = member), amount));
  END IF;
END $function$;

CREATE OR REPLACE FUNCTION ledger_lots_take(member text, amount bigint, posting text, first_lot text DEFAULT NULL::text)
 RETURNS bigint
 LANGUAGE plpgsql
AS $function$
DECLARE lot record; want bigint := amount; take bigint;
BEGIN
  IF want <= 0 THEN RETURN 0; END IF;
  IF first_lot IS NOT NULL THEN
    SELECT id, remaining INTO lot FROM lots WHERE id = first_lot AND member_id = member AND released AND remaining > 0 FOR UPDATE;
    IF FOUND THEN
      take := least(lot.remaining, want);
      UPDATE lots SET remaining = remaining - take WHERE id = lot.id;
      INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (posting, lot.id, -take);
      want := want - take;
      IF want = 0 THEN RETURN amount; END IF;
    END IF;
  END IF;
  -- One lot at a time (LIMIT 1): a FOR loop's cursor fetches, and so locks, ten lots at once.
  -- A lot taken whole drops out of the next search (remaining = 0); a lot taken in part ends it.
  LOOP
    SELECT id, remaining INTO lot FROM lots
     WHERE member_id = member AND released AND remaining > 0 AND id IS DISTINCT FROM first_lot
     ORDER BY expires_at, id LIMIT 1
     FOR UPDATE;
    EXIT WHEN NOT FOUND;
    take := least(lot.remaining, want);
    UPDATE lots SET remaining = remaining - take WHERE id = lot.id;
    INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (posting, lot.id, -take);
    want := want - take;
    EXIT WHEN want = 0;
  END LOOP;
  RETURN amount - want;
END $function$;

CREATE OR REPLACE FUNCTION ledger_lots_follow(member text, posting text, source text DEFAULT NULL::text, first_lot text DEFAULT NULL::text)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE target bigint; have bigint; gap bigint; mv record; give bigint;
BEGIN
  SELECT greatest(available + held, 0) INTO target FROM members WHERE id = member;
  -- remaining > 0 lets the open-lots index answer (lots at 0 add nothing to the sum).
  SELECT coalesce(sum(remaining), 0) INTO have FROM lots WHERE member_id = member AND released AND remaining > 0;
  IF have > target THEN
    PERFORM ledger_lots_take(member, have - target, posting, first_lot);
  ELSIF have < target THEN
    gap := target - have;
    -- Refunds go back to the lots the original burn spent; anything else to the newest lots.
    FOR mv IN
      SELECT l.id, l.points - l.remaining AS room,
             coalesce((SELECT -sum(m.points) FROM lot_moves m WHERE m.posting_id = source AND m.lot_id = l.id), 0) AS spent
        FROM lots l
       WHERE l.member_id = member AND l.released AND l.remaining < l.points
       ORDER BY (source IS NOT NULL AND EXISTS (SELECT 1 FROM lot_moves m WHERE m.posting_id = source AND m.lot_id = l.id)) DESC,
                l.expires_at DESC, l.id DESC
       FOR UPDATE OF l
    LOOP
      give := least(mv.room, gap);
      IF give > 0 THEN
        UPDATE lots SET remaining = remaining + give WHERE id = mv.id;
        INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (posting, mv.id, give)
          ON CONFLICT (posting_id, lot_id) DO NOTHING;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'lot % moved twice by posting %', mv.id, posting USING ERRCODE = 'CLI01';
        END IF;
        gap := gap - give;
      END IF;
      EXIT WHEN gap = 0;
    END LOOP;
  END IF;
END $function$;

CREATE OR REPLACE FUNCTION lot_moves_fill_facts()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE p postings; e postings;
BEGIN
  SELECT * INTO p FROM postings WHERE id = NEW.posting_id;
  -- The posting the lot's points come from (its own id, or the sender's for transferred points).
  SELECT * INTO e FROM postings WHERE id = (SELECT origin_id FROM lots WHERE id = NEW.lot_id);
  NEW.created_at := p.created_at;
  NEW.posting_type := p.type;
  NEW.issuer_id := e.partner_id;
  NEW.issuer_billing := e.billing;
  NEW.issue_value := CASE WHEN e.points > 0
    THEN round(-NEW.points * e.issue_price_per_point * (e.points - e.operator_funded_points)::numeric / e.points, 12) END;
  RETURN NEW;
END $function$;

-- Credits `total` points to a member as a new lot of its own (origin: the posting `pid`), pending
-- until `avail_at` or available now; available points first repay a debt left by an earn reversal.
-- The caller writes the posting and its entries; `touch` says whether this is the member's own activity.
CREATE OR REPLACE FUNCTION ledger_credit(pid text, member text, partner text, total bigint, now timestamp with time zone,
                                         avail_at timestamp with time zone, expires_at timestamp with time zone, touch boolean)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE is_pending boolean := avail_at > now; debt bigint; pay bigint;
BEGIN
  SELECT greatest(-(available + held), 0) INTO debt FROM members WHERE id = member;
  pay := CASE WHEN is_pending THEN 0 ELSE least(debt, total) END;
  INSERT INTO lots (id, origin_id, member_id, partner_id, points, remaining, earned_at, available_at, released, expires_at)
  VALUES (pid, pid, member, partner, total, total - pay, now, avail_at, NOT is_pending, expires_at);
  IF pay > 0 THEN INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (pid, pid, -pay); END IF;
  UPDATE members SET available = available + CASE WHEN is_pending THEN 0 ELSE total END,
                     pending = pending + CASE WHEN is_pending THEN total ELSE 0 END,
                     last_activity_at = CASE WHEN touch THEN now ELSE last_activity_at END
   WHERE id = member;
END $function$;
