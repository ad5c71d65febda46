-- Holds: authorize (points leave available), capture (all or part), void, lapse.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_hold_json(h holds, now timestamp with time zone)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
  SELECT jsonb_build_object('hold_id', h.id, 'status', h.status, 'points', h.points, 'expires_at', ledger_ts(h.expires_at))
$function$;

CREATE OR REPLACE FUNCTION ledger_active_hold(partner text, hold text, now timestamp with time zone, pid text)
 RETURNS holds
 LANGUAGE plpgsql
AS $function$
DECLARE h holds;
BEGIN
  SELECT * INTO h FROM holds WHERE id = hold AND partner_id = partner;
  IF h.id IS NULL THEN
    PERFORM ledger_refusal('not_found', 'No such hold.');
  END IF;
  PERFORM 1 FROM members WHERE id = h.member_id FOR UPDATE;
  PERFORM ledger_settle_member(h.member_id, now, pid);
  SELECT * INTO h FROM holds WHERE id = hold FOR UPDATE;
  IF h.status <> 'authorized' THEN
    PERFORM ledger_refusal('hold_not_active', format('The hold is %s.', h.status));
  END IF;
  RETURN h;
END $function$;

CREATE OR REPLACE FUNCTION ledger_hold(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id'; partner text := args->>'partner_id';
  member text; amount bigint := (args->>'points')::bigint; h holds;
BEGIN
  member := ledger_member_for(partner, args->>'member');
  PERFORM ledger_settle_member(member, now, pid);
  PERFORM ledger_spend(member, amount, true, now);
  INSERT INTO postings (id, type, partner_id, member_id, points, reference, created_at, hold_id)
  VALUES (pid, 'hold', partner, member, amount, args->>'reference', now, ctx->>'hold_id');
  PERFORM ledger_entry(pid, 'member:' || member || ':available', -amount);
  PERFORM ledger_entry(pid, 'member:' || member || ':held', amount);
  INSERT INTO holds (id, member_id, partner_id, points, reference, status, created_at, expires_at, posting_id)
  VALUES (ctx->>'hold_id', member, partner, amount, args->>'reference', 'authorized', now,
          now + make_interval(secs => (args->>'ttl_seconds')::int), pid)
  RETURNING * INTO h;
  RETURN (ledger_hold_json(h, now) || jsonb_build_object('balance', ledger_balance_json(member)));
END $function$;

CREATE OR REPLACE FUNCTION ledger_capture(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id'; partner text := args->>'partner_id';
  h holds; amount bigint; rest bigint; p record; post postings; rid text := pid || '_rest';
BEGIN
  h := ledger_active_hold(partner, args->>'hold_id', now, pid);
  amount := coalesce((args->>'points')::bigint, h.points);
  IF amount > h.points THEN
    PERFORM ledger_refusal('capture_exceeds_hold', format('The hold is for %s points; %s were asked for.', h.points, amount));
  END IF;
  rest := h.points - amount;
  SELECT * INTO p FROM partners WHERE id = partner;
  INSERT INTO postings (id, type, partner_id, member_id, points, reference, created_at, hold_id, settlement_currency, billing,
                        issue_price_per_point, redemption_price_per_point)
  VALUES (pid, 'burn', partner, h.member_id, amount, h.reference, now, h.id, p.settlement_currency, p.billing,
          p.issue_price_per_point, p.redemption_price_per_point)
  RETURNING * INTO post;
  PERFORM ledger_entry(pid, 'member:' || h.member_id || ':held', -amount);
  PERFORM ledger_entry(pid, 'partner:' || partner || ':redeemed', amount);
  UPDATE members SET held = held - amount, last_activity_at = now WHERE id = h.member_id;
  PERFORM ledger_lots_follow(h.member_id, pid);
  IF rest > 0 THEN
    INSERT INTO postings (id, type, partner_id, member_id, points, reference, created_at, hold_id)
    VALUES (rid, 'hold_release', partner, h.member_id, rest, h.reference, now, h.id);
    PERFORM ledger_entry(rid, 'member:' || h.member_id || ':held', -rest);
    PERFORM ledger_entry(rid, 'member:' || h.member_id || ':available', rest);
    UPDATE members SET held = held - rest, available = available + rest WHERE id = h.member_id;
  END IF;
  UPDATE holds SET status = 'captured', captured_points = amount, capture_transaction_id = pid, closed_at = now WHERE id = h.id
  RETURNING * INTO h;
  RETURN (jsonb_build_object(
    'hold_id', h.id, 'status', 'captured', 'captured_points', amount,
    'transaction', ledger_txn_json(post, now), 'balance', ledger_balance_json(h.member_id)));
END $function$;

CREATE OR REPLACE FUNCTION ledger_void(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id'; h holds;
BEGIN
  h := ledger_active_hold(args->>'partner_id', args->>'hold_id', now, pid);
  INSERT INTO postings (id, type, partner_id, member_id, points, reference, created_at, hold_id)
  VALUES (pid, 'hold_release', h.partner_id, h.member_id, h.points, h.reference, now, h.id);
  PERFORM ledger_entry(pid, 'member:' || h.member_id || ':held', -h.points);
  PERFORM ledger_entry(pid, 'member:' || h.member_id || ':available', h.points);
  UPDATE members SET held = held - h.points, available = available + h.points, last_activity_at = now WHERE id = h.member_id;
  UPDATE holds SET status = 'voided', closed_at = now WHERE id = h.id;
  RETURN (jsonb_build_object(
    'hold_id', h.id, 'status', 'voided', 'balance', ledger_balance_json(h.member_id)));
END $function$;
