-- Reversals: an earn_reversal takes back only points of the earn the member still has; a burn_refund returns points to the lots the burn spent.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_reverse(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id'; partner text := args->>'partner_id';
  orig postings; done bigint; amount bigint; post postings; kind text; lot lots; unspent bigint; available_now bigint;
  from_pending bigint := 0; from_available bigint;
BEGIN
  SELECT * INTO orig FROM postings WHERE id = args->>'transaction_id' AND partner_id = partner AND type IN ('earn', 'burn');
  IF orig.id IS NULL THEN
    PERFORM ledger_refusal('not_found', 'No such transaction.');
  END IF;
  PERFORM 1 FROM members WHERE id = orig.member_id FOR UPDATE;
  PERFORM ledger_settle_member(orig.member_id, now, pid);
  SELECT coalesce(sum(points), 0) INTO done FROM postings WHERE original_id = orig.id AND type IN ('earn_reversal', 'burn_refund');
  amount := coalesce((args->>'points')::bigint, orig.points - done);
  IF amount < 1 OR done + amount > orig.points THEN
    PERFORM ledger_refusal('reversal_exceeds_original',
      format('%s of %s points are already reversed; at most %s more.', done, orig.points, orig.points - done));
  END IF;
  kind := CASE orig.type WHEN 'earn' THEN 'earn_reversal' ELSE 'burn_refund' END;
  IF kind = 'earn_reversal' THEN
    -- Under the member's lock (taken above, as every posting path does): a concurrent burn either
    -- spent these points first, and this is refused, or waits and finds them gone.
    SELECT * INTO lot FROM lots WHERE id = orig.id FOR UPDATE;
    SELECT available INTO available_now FROM members WHERE id = orig.member_id;
    unspent := coalesce(CASE WHEN lot.released THEN least(lot.remaining, greatest(available_now, 0)) ELSE lot.remaining END, 0);
    IF amount > unspent THEN
      PERFORM ledger_refusal('insufficient_points',
        format('Only %s of this earn''s points are still unspent (the rest were spent, expired or are held); at most %s can be reversed.', unspent, unspent));
    END IF;
  END IF;
  INSERT INTO postings (id, type, partner_id, member_id, points, reference, created_at, original_id, settlement_currency, billing,
                        issue_price_per_point, redemption_price_per_point, operator_funded_points)
  VALUES (pid, kind, partner, orig.member_id, amount, args->>'reference', now, orig.id, orig.settlement_currency, orig.billing,
          orig.issue_price_per_point, orig.redemption_price_per_point,
          CASE WHEN orig.type = 'earn' AND orig.points > 0
               THEN floor((done + amount)::numeric * orig.operator_funded_points / orig.points)::bigint
                  - floor(done::numeric * orig.operator_funded_points / orig.points)::bigint
               ELSE 0 END)
  RETURNING * INTO post;
  IF kind = 'earn_reversal' THEN
    IF NOT lot.released THEN
      from_pending := amount;
      UPDATE lots SET remaining = remaining - from_pending WHERE id = lot.id;
      INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (pid, lot.id, -from_pending);
    END IF;
    from_available := amount - from_pending;
    PERFORM ledger_entry(pid, 'member:' || orig.member_id || ':pending', -from_pending);
    PERFORM ledger_entry(pid, 'member:' || orig.member_id || ':available', -from_available);
    PERFORM ledger_entry(pid, 'partner:' || partner || ':issued', amount - post.operator_funded_points);
    PERFORM ledger_entry(pid, 'operator:bonus', post.operator_funded_points);
    UPDATE members SET pending = pending - from_pending, available = available - from_available, last_activity_at = now
     WHERE id = orig.member_id;
    -- A reversal gives the partner-funded points back to a prepaid block.
    UPDATE partners SET prepaid_points = prepaid_points + (amount - post.operator_funded_points)
     WHERE id = partner AND prepaid_points IS NOT NULL;
    -- Released points leave the earn's own lot (it holds at least `amount`, checked above).
    PERFORM ledger_lots_follow(orig.member_id, pid, NULL, orig.id);
  ELSE
    PERFORM ledger_entry(pid, 'partner:' || partner || ':redeemed', -amount);
    PERFORM ledger_entry(pid, 'member:' || orig.member_id || ':available', amount);
    UPDATE members SET available = available + amount, last_activity_at = now WHERE id = orig.member_id;
    PERFORM ledger_lots_follow(orig.member_id, pid, orig.id);
  END IF;
  RETURN (jsonb_build_object(
    'transaction', ledger_txn_json(post, now), 'balance', ledger_balance_json(orig.member_id)));
END $function$;
