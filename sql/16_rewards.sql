-- Rewards: redemptions from the catalogue as postings (points leave the member's oldest lots for the operator's rewards account), their cancellation and rejection as refunds to the same lots, fulfilment and voucher use as the facts suppliers are paid for.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.
-- Lock order everywhere: the member, then the redemption, then the reward (stock), then vouchers.

CREATE OR REPLACE FUNCTION ledger_redemption_json(rd redemptions, show_codes boolean, now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
  SELECT jsonb_strip_nulls(jsonb_build_object(
    'redemption_id', rd.id,
    'reward_id', rd.reward_id,
    'supplier_id', rd.supplier_id,
    'partner_id', rd.partner_id,
    'member_id', rd.member_id,
    'kind', rd.kind,
    'quantity', rd.quantity,
    'points', rd.points,
    'status', rd.status,
    'reference', rd.reference,
    'created_at', ledger_ts(rd.created_at),
    'vouchers', CASE WHEN rd.kind = 'voucher' THEN (
      SELECT jsonb_agg(jsonb_build_object(
               -- In full only to the partner that made the redemption (and the member's portal).
               'code', CASE WHEN show_codes THEN v.code ELSE '…' || right(v.code, 4) END,
               'expires_at', ledger_ts(v.expires_at),
               'status', CASE WHEN v.status = 'issued' AND v.expires_at <= now THEN 'expired' ELSE v.status END)
             ORDER BY v.code)
        FROM vouchers v WHERE v.redemption_id = rd.id) END,
    'transfer_account', rd.transfer_account,
    'fulfilment_reference', rd.fulfilment_reference,
    'reject_reason', rd.reject_reason,
    'transaction', (SELECT ledger_txn_json(p, now) FROM postings p WHERE p.id = rd.posting_id),
    'refund_transaction', (SELECT ledger_txn_json(p, now) FROM postings p WHERE p.id = rd.refund_posting_id)
  ))
$function$;

CREATE OR REPLACE FUNCTION ledger_redeem(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id'; partner text := args->>'partner_id';
  member text; r rewards; qty int := coalesce((args->>'quantity')::int, 1); total bigint; taken bigint;
  post postings; rd redemptions; supplier partners; i int;
BEGIN
  member := ledger_member_for(partner, args->>'member');
  SELECT * INTO r FROM rewards WHERE id = args->>'reward_id';
  IF r.id IS NULL THEN
    PERFORM ledger_refusal('not_found', 'No such reward.');
  END IF;
  IF r.status <> 'active' THEN
    PERFORM ledger_refusal('reward_unavailable', format('This reward is %s.', r.status));
  END IF;
  IF (r.kind = 'transfer') <> (args->>'transfer_account' IS NOT NULL) THEN
    PERFORM ledger_refusal('validation_failed', CASE WHEN r.kind = 'transfer'
      THEN 'transfer_account (the member''s number in ' || r.transfer_program || ') is required for this reward.'
      ELSE 'transfer_account is only for transfer rewards.' END);
  END IF;
  PERFORM ledger_settle_member(member, now, pid);
  -- Under the member's lock: concurrent redemptions by one member count each other.
  IF r.per_member_limit IS NOT NULL THEN
    SELECT coalesce(sum(quantity), 0) INTO taken FROM redemptions
     WHERE member_id = member AND reward_id = r.id AND status NOT IN ('cancelled', 'rejected');
    IF taken + qty > r.per_member_limit THEN
      PERFORM ledger_refusal('redemption_limit_reached',
        format('At most %s per member; this member has %s.', r.per_member_limit, taken));
    END IF;
  END IF;
  total := r.points * qty;
  -- Sold out as read: say so (not insufficient_points), and skip the balance update a rush would undo.
  -- The conditional UPDATE below stays the guard under concurrency.
  IF r.stock IS NOT NULL AND r.stock < qty THEN
    PERFORM ledger_refusal('reward_unavailable', 'This reward is out of stock.');
  END IF;
  PERFORM ledger_spend(member, total, false, now);
  -- One conditional update: stock is never oversold, whatever the concurrency.
  UPDATE rewards SET stock = stock - qty WHERE id = r.id AND status = 'active' AND (stock IS NULL OR stock >= qty);
  IF NOT FOUND THEN
    PERFORM ledger_refusal('reward_unavailable', 'This reward is out of stock.');
  END IF;
  SELECT * INTO supplier FROM partners WHERE id = r.supplier_id;
  INSERT INTO postings (id, type, partner_id, member_id, points, reference, created_at)
  VALUES (pid, 'redemption', partner, member, total, args->>'reference', now)
  RETURNING * INTO post;
  PERFORM ledger_entry(pid, 'member:' || member || ':available', -total);
  PERFORM ledger_entry(pid, 'operator:rewards', total);
  PERFORM ledger_lots_follow(member, pid);
  INSERT INTO redemptions (id, reward_id, supplier_id, partner_id, member_id, kind, quantity, points, status, reference,
                           transfer_account, supplier_price, supplier_currency, posting_id, created_at, updated_at)
  VALUES (ctx->>'redemption_id', r.id, r.supplier_id, partner, member, r.kind, qty, total,
          CASE WHEN r.kind = 'voucher' THEN 'issued' ELSE 'requested' END, args->>'reference',
          args->>'transfer_account', r.supplier_price, supplier.settlement_currency, pid, now, now)
  RETURNING * INTO rd;
  IF r.kind = 'voucher' THEN
    FOR i IN 0 .. qty - 1 LOOP
      INSERT INTO vouchers (code, redemption_id, supplier_id, status, expires_at)
      VALUES (ctx->'voucher_codes'->>i, rd.id, r.supplier_id, 'issued', now + make_interval(days => r.voucher_valid_days));
    END LOOP;
  ELSE
    PERFORM ledger_emit(r.supplier_id, 'redemption.requested', jsonb_strip_nulls(jsonb_build_object(
      'redemption_id', rd.id, 'reward_id', r.id, 'kind', r.kind, 'quantity', qty, 'member_id', member,
      'transfer_account', rd.transfer_account, 'transfer_program', r.transfer_program,
      'transfer_units', CASE WHEN r.kind = 'transfer' THEN r.transfer_units_per_unit * qty END)), now);
  END IF;
  RETURN ledger_redemption_json(rd, true, now) || jsonb_build_object('balance', ledger_balance_json(member));
END $function$;

-- Points back to the lots the redemption spent (issuer, locked prices, expiry), stock restored.
CREATE OR REPLACE FUNCTION ledger_redemption_refund(rd redemptions, pid text, reference text, now timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO postings (id, type, partner_id, member_id, points, reference, created_at, original_id)
  VALUES (pid, 'redemption_refund', rd.partner_id, rd.member_id, rd.points, reference, now, rd.posting_id);
  PERFORM ledger_entry(pid, 'operator:rewards', -rd.points);
  PERFORM ledger_entry(pid, 'member:' || rd.member_id || ':available', rd.points);
  UPDATE members SET available = available + rd.points, last_activity_at = now WHERE id = rd.member_id;
  PERFORM ledger_lots_follow(rd.member_id, pid, rd.posting_id);
  UPDATE rewards SET stock = stock + rd.quantity WHERE id = rd.reward_id AND stock IS NOT NULL;
  UPDATE vouchers SET status = 'cancelled' WHERE redemption_id = rd.id AND status = 'issued';
END $function$;

-- The redemption a caller acts on, locked (member first): `role` is 'maker' or 'supplier'.
CREATE OR REPLACE FUNCTION ledger_redemption_for(redemption text, partner text, caller_role text)
 RETURNS redemptions
 LANGUAGE plpgsql
AS $function$
DECLARE rd redemptions;
BEGIN
  SELECT * INTO rd FROM redemptions r WHERE r.id = redemption
     AND CASE caller_role WHEN 'maker' THEN r.partner_id = partner ELSE r.supplier_id = partner END;
  IF rd.id IS NULL THEN
    PERFORM ledger_refusal('not_found', 'No such redemption.');
  END IF;
  PERFORM 1 FROM members WHERE members.id = rd.member_id FOR UPDATE;
  SELECT * INTO rd FROM redemptions r WHERE r.id = rd.id FOR UPDATE;
  RETURN rd;
END $function$;

CREATE OR REPLACE FUNCTION ledger_redemption_cancel(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE now timestamptz := (ctx->>'now')::timestamptz; rd redemptions;
BEGIN
  rd := ledger_redemption_for(args->>'redemption_id', args->>'partner_id', 'maker');
  -- Cancellable while nothing of it is used or fulfilled, and no voucher of it has lapsed.
  IF rd.status NOT IN ('issued', 'requested')
     OR EXISTS (SELECT 1 FROM vouchers v WHERE v.redemption_id = rd.id AND (v.status <> 'issued' OR v.expires_at <= now)) THEN
    PERFORM ledger_refusal('redemption_not_cancellable',
      format('This redemption is %s; only one with nothing used, fulfilled or expired can be cancelled.', rd.status));
  END IF;
  PERFORM ledger_redemption_refund(rd, ctx->>'posting_id', rd.reference, now);
  UPDATE redemptions SET status = 'cancelled', refund_posting_id = ctx->>'posting_id', updated_at = now WHERE id = rd.id
  RETURNING * INTO rd;
  PERFORM ledger_emit(rd.supplier_id, 'redemption.cancelled', jsonb_build_object(
    'redemption_id', rd.id, 'reward_id', rd.reward_id, 'kind', rd.kind, 'quantity', rd.quantity), now);
  RETURN ledger_redemption_json(rd, true, now) || jsonb_build_object('balance', ledger_balance_json(rd.member_id));
END $function$;

CREATE OR REPLACE FUNCTION ledger_redemption_reject(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE now timestamptz := (ctx->>'now')::timestamptz; rd redemptions;
BEGIN
  rd := ledger_redemption_for(args->>'redemption_id', args->>'partner_id', 'supplier');
  IF rd.kind = 'voucher' OR rd.status <> 'requested' THEN
    PERFORM ledger_refusal('redemption_not_cancellable',
      format('This redemption is %s; only a requested item or transfer can be rejected.', rd.status));
  END IF;
  PERFORM ledger_redemption_refund(rd, ctx->>'posting_id', rd.reference, now);
  UPDATE redemptions SET status = 'rejected', refund_posting_id = ctx->>'posting_id', reject_reason = args->>'reason', updated_at = now
   WHERE id = rd.id RETURNING * INTO rd;
  PERFORM ledger_emit(rd.partner_id, 'redemption.rejected', jsonb_build_object(
    'redemption_id', rd.id, 'reward_id', rd.reward_id, 'member_id', rd.member_id, 'reason', rd.reject_reason), now);
  RETURN ledger_redemption_json(rd, rd.partner_id = args->>'partner_id', now);
END $function$;

CREATE OR REPLACE FUNCTION ledger_redemption_fulfil(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE now timestamptz := (ctx->>'now')::timestamptz; rd redemptions;
BEGIN
  rd := ledger_redemption_for(args->>'redemption_id', args->>'partner_id', 'supplier');
  IF rd.kind = 'voucher' OR rd.status <> 'requested' THEN
    PERFORM ledger_refusal('redemption_not_cancellable',
      format('This redemption is %s; only a requested item or transfer can be fulfilled.', rd.status));
  END IF;
  UPDATE redemptions SET status = 'fulfilled', fulfilment_reference = args->>'reference', updated_at = now
   WHERE id = rd.id RETURNING * INTO rd;
  INSERT INTO reward_fulfilments (id, redemption_id, supplier_id, units, supplier_price, currency, created_at)
  VALUES (ctx->>'fulfilment_id', rd.id, rd.supplier_id, rd.quantity, rd.supplier_price, rd.supplier_currency, now);
  PERFORM ledger_emit(rd.partner_id, 'redemption.fulfilled', jsonb_build_object(
    'redemption_id', rd.id, 'reward_id', rd.reward_id, 'member_id', rd.member_id, 'fulfilment_reference', rd.fulfilment_reference), now);
  RETURN ledger_redemption_json(rd, rd.partner_id = args->>'partner_id', now);
END $function$;

CREATE OR REPLACE FUNCTION ledger_voucher_use(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE now timestamptz := (ctx->>'now')::timestamptz; v vouchers; rd redemptions; r rewards;
BEGIN
  SELECT * INTO v FROM vouchers WHERE code = args->>'code' AND supplier_id = args->>'partner_id';
  IF v.code IS NOT NULL THEN
    -- The redemption first (as cancel takes it), then the voucher.
    SELECT * INTO rd FROM redemptions WHERE id = v.redemption_id FOR UPDATE;
    SELECT * INTO v FROM vouchers WHERE code = v.code FOR UPDATE;
  END IF;
  -- One answer for unknown, another supplier's, used, cancelled and expired: nothing is confirmed.
  IF v.code IS NULL OR v.status <> 'issued' OR v.expires_at <= now THEN
    PERFORM ledger_refusal('voucher_not_usable', 'This voucher cannot be used.');
  END IF;
  UPDATE vouchers SET status = 'used', used_at = now, use_reference = args->>'reference' WHERE code = v.code;
  INSERT INTO reward_fulfilments (id, redemption_id, supplier_id, voucher_code, units, supplier_price, currency, created_at)
  VALUES (ctx->>'fulfilment_id', rd.id, rd.supplier_id, v.code, 1, rd.supplier_price, rd.supplier_currency, now);
  SELECT * INTO r FROM rewards WHERE id = rd.reward_id;
  RETURN jsonb_strip_nulls(jsonb_build_object(
    'code', v.code, 'status', 'used', 'redemption_id', rd.id, 'used_at', ledger_ts(now),
    'face_value', CASE WHEN r.face_value_minor IS NOT NULL
      THEN jsonb_build_object('amount_minor', r.face_value_minor, 'currency', r.face_value_currency) END));
END $function$;

-- Job: vouchers past their date become expired (their points are not refunded; nothing is owed).
CREATE OR REPLACE FUNCTION ledger_expire_vouchers(now timestamp with time zone, max_vouchers integer)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE n int;
BEGIN
  WITH due AS (
    SELECT code FROM vouchers WHERE status = 'issued' AND expires_at <= now
     ORDER BY expires_at LIMIT max_vouchers FOR UPDATE SKIP LOCKED)
  UPDATE vouchers v SET status = 'expired' FROM due WHERE v.code = due.code;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $function$;
