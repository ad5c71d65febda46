-- Credit limits for postpaid partners. Exposure is what the partner would owe if settled now:
-- its issuance (at locked prices; through lot lineage for redemption billing) less what it is
-- owed for redemptions, over postings since the end of the last final settlement period.
-- It reads only that open period, through the partner's own postings index.
CREATE FUNCTION ledger_partner_exposure(partner text) RETURNS numeric LANGUAGE sql STABLE AS $$
  WITH since AS (
    SELECT coalesce(max(period_end)::timestamptz, '-infinity'::timestamptz) AS t FROM settlement_runs WHERE status = 'final'
  ), own AS (
    SELECT coalesce(sum(CASE type
             WHEN 'earn' THEN CASE WHEN billing = 'issuance' THEN (points - operator_funded_points) * issue_price_per_point ELSE 0 END
             WHEN 'earn_reversal' THEN CASE WHEN billing = 'issuance' THEN -(points - operator_funded_points) * issue_price_per_point ELSE 0 END
             WHEN 'burn' THEN -points * redemption_price_per_point
             WHEN 'burn_refund' THEN points * redemption_price_per_point
             ELSE 0 END), 0) AS amount
      FROM postings, since WHERE partner_id = partner AND created_at >= since.t
  ), lineage AS (
    SELECT coalesce(sum(-mv.points * e.issue_price_per_point * (e.points - e.operator_funded_points)::numeric / e.points), 0) AS amount
      FROM postings e JOIN lot_moves mv ON mv.lot_id = e.id JOIN postings p ON p.id = mv.posting_id, since
     WHERE e.partner_id = partner AND e.billing = 'redemption' AND p.type IN ('burn', 'burn_refund') AND p.created_at >= since.t
  )
  SELECT own.amount + lineage.amount FROM own, lineage
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ledger_earn(args jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id';
  partner text := args->>'partner_id'; member text; q jsonb; total bigint; base bigint; bonus bigint; op_funded bigint;
  avail_at timestamptz; is_pending boolean; p record; debt bigint; pay bigint; post postings; g jsonb; exposure numeric;
BEGIN
  member := ledger_member_for(partner, args->>'member');
  PERFORM ledger_settle_member(member, now, pid);
  q := ledger_earn_quote(args, ctx, member, true);
  base := (q->>'base_points')::bigint; bonus := (q->>'bonus_points')::bigint; op_funded := (q->>'operator_funded_points')::bigint;
  total := base + bonus;
  avail_at := coalesce((args->>'available_at')::timestamptz, now);
  is_pending := avail_at > now;
  SELECT * INTO p FROM partners WHERE id = partner;
  -- Postpaid partners with a credit limit: what they would owe unsettled after this earn must
  -- stay within it. The partner row is locked so concurrent earns are checked one after another.
  IF p.prepaid_points IS NULL AND p.credit_limit IS NOT NULL THEN
    PERFORM 1 FROM partners WHERE id = partner FOR UPDATE;
    exposure := ledger_partner_exposure(partner);
    IF p.billing = 'issuance' THEN exposure := exposure + (total - op_funded) * p.issue_price_per_point; END IF;
    IF exposure > p.credit_limit THEN
      PERFORM ledger_refusal(422, 'credit_limit_exceeded',
        format('This earn would bring your unsettled amount to %s %s, over your credit limit of %s.',
               round(exposure, 2), p.settlement_currency, p.credit_limit::numeric(20,2)));
    END IF;
  END IF;
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
