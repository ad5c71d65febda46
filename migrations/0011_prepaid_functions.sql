-- Prepaid partners: earns draw their partner-funded points from the block bought in advance
-- (one conditional update: never below zero); earn reversals give them back.
CREATE OR REPLACE FUNCTION ledger_earn(args jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id';
  partner text := args->>'partner_id'; member text; q jsonb; total bigint; base bigint; bonus bigint; op_funded bigint;
  avail_at timestamptz; is_pending boolean; p record; debt bigint; pay bigint; post postings; g jsonb;
BEGIN
  member := ledger_member_for(partner, args->>'member');
  PERFORM ledger_settle_member(member, now, pid);
  q := ledger_earn_quote(args, ctx, member, true);
  base := (q->>'base_points')::bigint; bonus := (q->>'bonus_points')::bigint; op_funded := (q->>'operator_funded_points')::bigint;
  total := base + bonus;
  avail_at := coalesce((args->>'available_at')::timestamptz, now);
  is_pending := avail_at > now;
  SELECT * INTO p FROM partners WHERE id = partner;
  -- Prepaid partners: the points they pay for come out of their block, atomically.
  IF p.prepaid_points IS NOT NULL AND total - op_funded > 0 THEN
    UPDATE partners SET prepaid_points = prepaid_points - (total - op_funded)
     WHERE id = partner AND prepaid_points >= total - op_funded;
    IF NOT FOUND THEN
      PERFORM ledger_refusal(422, 'prepaid_points_exhausted',
        format('Your prepaid block has %s points left; this earn needs %s.', p.prepaid_points, total - op_funded));
    END IF;
  END IF;
  INSERT INTO postings (id, type, partner_id, member_id, points, base_points, bonus_points, operator_funded_points, reference,
                        created_at, occurred_at, available_at, currency, amount_minor, category, settlement_currency, billing,
                        issue_price_per_point, redemption_price_per_point)
  VALUES (pid, 'earn', partner, member, total, base, bonus, op_funded, args->>'reference',
          now, (args->>'occurred_at')::timestamptz, CASE WHEN is_pending THEN avail_at END, args->>'currency',
          (args->>'amount_minor')::bigint, args->>'category',
          p.settlement_currency, p.billing, p.issue_price_per_point, p.redemption_price_per_point)
  RETURNING * INTO post;
  FOR g IN SELECT value FROM jsonb_array_elements(q->'promotions') LOOP
    INSERT INTO posting_promotions (posting_id, promotion_id, points, operator_points)
    VALUES (pid, g->>'id', (g->>'points')::bigint, (g->>'operator_points')::bigint);
  END LOOP;
  PERFORM ledger_entry(pid, 'member:' || member || CASE WHEN is_pending THEN ':pending' ELSE ':available' END, total);
  PERFORM ledger_entry(pid, 'partner:' || partner || ':issued', -(total - op_funded));
  PERFORM ledger_entry(pid, 'operator:bonus', -op_funded);
  SELECT greatest(-(available + held), 0) INTO debt FROM members WHERE id = member;
  pay := CASE WHEN is_pending THEN 0 ELSE least(debt, total) END;
  INSERT INTO lots (id, member_id, partner_id, points, remaining, earned_at, available_at, released, expires_at)
  VALUES (pid, member, partner, total, total - pay, now, avail_at, NOT is_pending,
          now + make_interval(months => (ctx->>'expiry_months')::int));
  IF pay > 0 THEN INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (pid, pid, -pay); END IF;
  UPDATE members SET available = available + CASE WHEN is_pending THEN 0 ELSE total END,
                     pending = pending + CASE WHEN is_pending THEN total ELSE 0 END,
                     last_activity_at = now
   WHERE id = member;
  RETURN jsonb_build_object('status', 201, 'body', jsonb_build_object(
    'transaction', ledger_txn_json(post, now), 'balance', ledger_balance_json(member),
    'base_points', base, 'bonus_points', bonus));
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ledger_reverse(args jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id'; partner text := args->>'partner_id';
  orig postings; done bigint; amount bigint; post postings; kind text; op_before bigint; op_after bigint; lot lots;
  from_pending bigint := 0; from_available bigint;
BEGIN
  SELECT * INTO orig FROM postings WHERE id = args->>'transaction_id' AND partner_id = partner AND type IN ('earn', 'burn');
  IF orig.id IS NULL THEN
    PERFORM ledger_refusal(404, 'not_found', 'No such transaction.');
  END IF;
  PERFORM 1 FROM members WHERE id = orig.member_id FOR UPDATE;
  PERFORM ledger_settle_member(orig.member_id, now, pid);
  SELECT coalesce(sum(points), 0) INTO done FROM postings WHERE original_id = orig.id AND type IN ('earn_reversal', 'burn_refund');
  amount := coalesce((args->>'points')::bigint, orig.points - done);
  IF amount < 1 OR done + amount > orig.points THEN
    PERFORM ledger_refusal(422, 'reversal_exceeds_original',
      format('%s of %s points are already reversed; at most %s more.', done, orig.points, orig.points - done));
  END IF;
  kind := CASE orig.type WHEN 'earn' THEN 'earn_reversal' ELSE 'burn_refund' END;
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
    SELECT * INTO lot FROM lots WHERE id = orig.id FOR UPDATE;
    IF NOT lot.released THEN
      from_pending := least(amount, lot.remaining);
      UPDATE lots SET remaining = remaining - from_pending WHERE id = lot.id;
      IF from_pending > 0 THEN INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (pid, lot.id, -from_pending); END IF;
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
    PERFORM ledger_lots_follow(orig.member_id, pid, NULL, orig.id);
  ELSE
    PERFORM ledger_entry(pid, 'partner:' || partner || ':redeemed', -amount);
    PERFORM ledger_entry(pid, 'member:' || orig.member_id || ':available', amount);
    UPDATE members SET available = available + amount, last_activity_at = now WHERE id = orig.member_id;
    PERFORM ledger_lots_follow(orig.member_id, pid, orig.id);
  END IF;
  RETURN jsonb_build_object('status', 201, 'body', jsonb_build_object(
    'transaction', ledger_txn_json(post, now), 'balance', ledger_balance_json(orig.member_id)));
END $$;
