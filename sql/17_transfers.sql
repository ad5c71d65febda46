-- Member-to-member transfers: the sender's points leave its oldest lots and arrive as lots of the recipient that keep their issuer, locked prices and expiry.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.
-- Lock order: the receive code, then both members in id order, then their lots. No other path
-- holds one member while waiting for another (jobs and bonuses skip a busy member).

CREATE OR REPLACE FUNCTION ledger_transfer(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; out_id text := ctx->>'posting_id'; in_id text := ctx->>'transfer_in_id';
  partner text := args->>'partner_id'; amount bigint := (args->>'points')::bigint; lim bigint := (ctx->>'transfer_daily_points')::bigint;
  sender text; recipient text; rc receive_codes; sent bigint; post postings; incoming postings; mv record; n int := 0; moved bigint := 0;
  day_start timestamptz := ledger_utc_day_start(now);
BEGIN
  IF lim IS NULL OR in_id IS NULL OR ctx->>'transfer_id' IS NULL THEN
    RAISE EXCEPTION 'ctx.transfer_daily_points, transfer_id and transfer_in_id are required for a transfer' USING ERRCODE = 'CLI01';
  END IF;
  sender := ledger_member_for(partner, args->>'member', false);
  -- The code first: of concurrent transfers with one code, one finds it unused.
  SELECT * INTO rc FROM receive_codes WHERE code_hash = args->>'code_hash' FOR UPDATE;
  IF rc.code_hash IS NULL OR rc.used_at IS NOT NULL OR rc.expires_at <= now OR rc.member_id = sender
     OR NOT EXISTS (SELECT 1 FROM members WHERE id = rc.member_id AND status = 'active') THEN
    PERFORM ledger_refusal('receive_code_invalid', 'The receive code is unknown, expired, already used, or the sender''s own.');
  END IF;
  recipient := rc.member_id;
  PERFORM 1 FROM members WHERE id IN (sender, recipient) ORDER BY id FOR UPDATE;
  IF NOT EXISTS (SELECT 1 FROM members WHERE id = sender AND status = 'active') THEN
    PERFORM ledger_refusal('member_not_found', 'No such member is linked to you.');
  END IF;
  PERFORM ledger_settle_member(sender, now, out_id);
  PERFORM ledger_settle_member(recipient, now, in_id);
  -- Under the sender's lock: its concurrent transfers count each other.
  SELECT coalesce(sum(points), 0) INTO sent FROM transfers
   WHERE sender_id = sender AND created_at >= day_start AND created_at < day_start + interval '1 day';
  IF sent + amount > lim THEN
    PERFORM ledger_refusal('transfer_limit_reached',
      format('A member may send %s points per UTC day; this member has sent %s today, so at most %s more.', lim, sent, greatest(lim - sent, 0)));
  END IF;
  PERFORM ledger_spend(sender, amount, false, now);
  INSERT INTO postings (id, type, partner_id, member_id, points, reference, created_at)
  VALUES (out_id, 'transfer_out', partner, sender, amount, args->>'reference', now)
  RETURNING * INTO post;
  PERFORM ledger_entry(out_id, 'member:' || sender || ':available', -amount);
  PERFORM ledger_entry(out_id, 'operator:transfers', amount);
  PERFORM ledger_lots_follow(sender, out_id);
  -- No partner posts the recipient's side; it points at the sender's.
  INSERT INTO postings (id, type, partner_id, member_id, points, reference, created_at, original_id)
  VALUES (in_id, 'transfer_in', NULL, recipient, amount, args->>'reference', now, out_id)
  RETURNING * INTO incoming;
  PERFORM ledger_entry(in_id, 'operator:transfers', -amount);
  PERFORM ledger_entry(in_id, 'member:' || recipient || ':available', amount);
  -- The recipient's lots: one per sender lot the points left, with that lot's lineage.
  FOR mv IN SELECT l.origin_id, l.partner_id, l.earned_at, l.expires_at, -m.points AS points
              FROM lot_moves m JOIN lots l ON l.id = m.lot_id
             WHERE m.posting_id = out_id AND m.points < 0 ORDER BY l.expires_at, l.id LOOP
    n := n + 1;
    INSERT INTO lots (id, origin_id, member_id, partner_id, points, remaining, earned_at, available_at, released, expires_at)
    VALUES (in_id || '.' || n, mv.origin_id, recipient, mv.partner_id, mv.points, mv.points, mv.earned_at, now, true, mv.expires_at);
    moved := moved + mv.points;
  END LOOP;
  IF moved <> amount THEN
    RAISE EXCEPTION 'transfer % moved % points of lots for % points', out_id, moved, amount USING ERRCODE = 'CLI01';
  END IF;
  UPDATE members SET available = available + amount WHERE id = recipient;
  -- A recipient still repaying a reversal's debt repays it from these points first.
  PERFORM ledger_lots_follow(recipient, in_id);
  UPDATE receive_codes SET used_at = now, transfer_id = ctx->>'transfer_id' WHERE code_hash = rc.code_hash;
  INSERT INTO transfers (id, partner_id, sender_id, recipient_id, points, reference, out_posting_id, in_posting_id, created_at)
  VALUES (ctx->>'transfer_id', partner, sender, recipient, amount, args->>'reference', out_id, in_id, now);
  -- The partner that asked for the code on the recipient's behalf learns it was used.
  IF rc.created_by IS NOT NULL THEN
    PERFORM ledger_emit(rc.created_by, 'transfer.received', jsonb_build_object(
      'transfer_id', ctx->>'transfer_id', 'member_id', recipient, 'points', amount,
      'transaction_id', in_id, 'received_at', ledger_ts(now)), now);
  END IF;
  RETURN jsonb_build_object('transfer_id', ctx->>'transfer_id', 'points', amount,
                            'transaction', ledger_txn_json(post, now), 'balance', ledger_balance_json(sender));
END $function$;
