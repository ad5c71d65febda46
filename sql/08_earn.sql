-- Earn: rule arithmetic, tier bonus, promotions, prepaid blocks and credit limits, and the quote that writes nothing.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_partner_exposure(partner text)
 RETURNS numeric
 LANGUAGE sql
 STABLE
AS $function$
  WITH since AS (
    SELECT coalesce(max(period_end)::timestamptz, '-infinity'::timestamptz) AS t FROM settlement_runs WHERE status = 'final'
  ), own AS (
    SELECT coalesce(sum(CASE type
             WHEN 'earn' THEN CASE WHEN billing = 'issuance' THEN (points - operator_funded_points) * issue_price_per_point ELSE 0 END
             WHEN 'activity' THEN CASE WHEN billing = 'issuance' THEN points * issue_price_per_point ELSE 0 END
             WHEN 'earn_reversal' THEN CASE WHEN billing = 'issuance' THEN -(points - operator_funded_points) * issue_price_per_point ELSE 0 END
             WHEN 'burn' THEN -points * redemption_price_per_point
             WHEN 'burn_refund' THEN points * redemption_price_per_point
             ELSE 0 END), 0) AS amount
      FROM postings, since WHERE partner_id = partner AND created_at >= since.t
  ), lineage AS (
    SELECT coalesce(sum(mv.issue_value), 0) AS amount
      FROM lot_moves mv, since
     WHERE mv.issuer_id = partner AND mv.issuer_billing = 'redemption'
       AND mv.posting_type IN ('burn', 'burn_refund', 'redemption', 'redemption_refund') AND mv.created_at >= since.t
  ), supplied AS (
    -- What the operator owes it as a reward supplier comes off, as on its statement.
    SELECT coalesce(sum(f.units * f.supplier_price), 0) AS amount
      FROM reward_fulfilments f, since WHERE f.supplier_id = partner AND f.created_at >= since.t
  )
  SELECT own.amount + lineage.amount - supplied.amount FROM own, lineage, supplied
$function$;

CREATE OR REPLACE FUNCTION ledger_earn_quote(args jsonb, ctx jsonb, member text, consume boolean)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  p record; rate numeric; exponent int; base bigint; tier_bonus bigint := 0; earned bigint := 0;
  tier jsonb; t jsonb; cur text := args->>'currency'; cat text := coalesce(args->>'category', '*');
  now timestamptz := (ctx->>'now')::timestamptz; promo record; want bigint; got bigint;
  promo_bonus bigint := 0; operator_points bigint := 0; granted jsonb := '[]'::jsonb;
BEGIN
  SELECT * INTO p FROM partners WHERE id = args->>'partner_id';
  SELECT points_per_unit INTO rate FROM partner_earn_rules
   WHERE partner_id = p.id AND currency = cur AND category IN (cat, '*')
   ORDER BY (category = '*') ASC LIMIT 1;
  IF rate IS NULL THEN
    PERFORM ledger_refusal('validation_failed', format('No earn rule of %s matches currency %s and category %s.', p.id, cur, cat));
  END IF;
  -- ISO 4217 exponents are defined once, in TypeScript (src/lib/money.ts), and passed in.
  exponent := (ctx->>'currency_exponent')::int;
  IF exponent IS NULL THEN RAISE EXCEPTION 'ctx.currency_exponent is required for an earn' USING ERRCODE = 'CLI01'; END IF;
  IF args ? 'points' THEN
    IF NOT p.allow_explicit_points THEN
      PERFORM ledger_refusal('explicit_points_not_allowed', 'Your contract does not allow explicit points; send amount_minor and currency only.');
    END IF;
    base := (args->>'points')::bigint;
  ELSE
    base := floor((args->>'amount_minor')::numeric * rate / (10::numeric ^ exponent))::bigint;
  END IF;
  tier := ctx->'tiers'->0;
  IF member IS NOT NULL THEN
    earned := ledger_earned_since(member, (ctx->>'tier_window_start')::timestamptz);
    FOR t IN SELECT value FROM jsonb_array_elements(ctx->'tiers') LOOP
      IF earned >= (t->>'threshold')::bigint THEN tier := t; END IF;
    END LOOP;
    tier_bonus := floor(base * ((tier->>'multiplier')::numeric - 1))::bigint;
  END IF;
  IF base > 0 THEN
    FOR promo IN SELECT * FROM promotions
                  WHERE partner_id = p.id AND category IN (cat, '*') AND starts_at <= now AND ends_at > now AND remaining_points > 0
                  ORDER BY created_at, id LOOP
      want := CASE WHEN promo.fixed_points IS NOT NULL THEN promo.fixed_points
                   ELSE floor(base * (promo.multiplier - 1))::bigint END;
      CONTINUE WHEN want <= 0;
      IF consume THEN
        -- Locked, then re-read: a concurrent earn may have drawn on the budget meanwhile.
        SELECT least(want, remaining_points) INTO got FROM promotions WHERE id = promo.id FOR UPDATE;
        UPDATE promotions SET remaining_points = remaining_points - got WHERE id = promo.id AND got > 0;
      ELSE
        got := least(want, promo.remaining_points);
      END IF;
      CONTINUE WHEN got <= 0;
      promo_bonus := promo_bonus + got;
      operator_points := operator_points + floor(got * promo.operator_share)::bigint;
      granted := granted || jsonb_build_array(jsonb_build_object('id', promo.id, 'points', got,
                                                                 'operator_points', floor(got * promo.operator_share)::bigint));
    END LOOP;
  END IF;
  IF base + tier_bonus + promo_bonus < 1 THEN
    PERFORM ledger_refusal('validation_failed', 'This purchase earns no points.');
  END IF;
  IF base + tier_bonus + promo_bonus > 1000000000 THEN
    PERFORM ledger_refusal('validation_failed', 'An earn may credit at most 1,000,000,000 points.');
  END IF;
  RETURN jsonb_build_object('base_points', base, 'bonus_points', tier_bonus + promo_bonus,
                            'operator_funded_points', tier_bonus + operator_points,
                            'tier', tier->>'name', 'points_per_unit', rate::text, 'promotions', granted);
END $function$;

CREATE OR REPLACE FUNCTION ledger_quote(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE q jsonb;
BEGIN
  q := ledger_earn_quote(args, ctx, ledger_member_for(args->>'partner_id', args->>'member', false), false);
  RETURN jsonb_build_object('points', (q->>'base_points')::bigint + (q->>'bonus_points')::bigint,
                            'base_points', (q->>'base_points')::bigint, 'bonus_points', (q->>'bonus_points')::bigint);
END $function$;

CREATE OR REPLACE FUNCTION ledger_earn(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id';
  partner text := args->>'partner_id'; member text; q jsonb; total bigint; base bigint; bonus bigint; op_funded bigint;
  avail_at timestamptz; is_pending boolean; p partners; post postings; g jsonb;
BEGIN
  member := ledger_member_for(partner, args->>'member');
  PERFORM ledger_settle_member(member, now, pid);
  q := ledger_earn_quote(args, ctx, member, true);
  base := (q->>'base_points')::bigint; bonus := (q->>'bonus_points')::bigint; op_funded := (q->>'operator_funded_points')::bigint;
  total := base + bonus;
  avail_at := coalesce((args->>'available_at')::timestamptz, now);
  is_pending := avail_at > now;
  SELECT * INTO p FROM partners WHERE id = partner;
  PERFORM ledger_issue_checks(p, member, total, op_funded, now);
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
  -- The three legs in one statement (zero legs left out), not three function calls.
  INSERT INTO entries (posting_id, account, amount)
  SELECT pid, leg.account, leg.amount
    FROM (VALUES ('member:' || member || CASE WHEN is_pending THEN ':pending' ELSE ':available' END, total),
                 ('partner:' || partner || ':issued', -(total - op_funded)),
                 ('operator:bonus', -op_funded)) AS leg(account, amount)
   WHERE leg.amount <> 0;
  PERFORM ledger_credit(pid, member, partner, total, now, avail_at, now + make_interval(months => (ctx->>'expiry_months')::int), true);
  -- A referred member's first earn posted pays the referral bonuses (a pending one, when released).
  IF NOT is_pending THEN PERFORM ledger_referral_qualify(member, pid, now); END IF;
  RETURN (jsonb_build_object(
    'transaction', ledger_txn_json(post, now), 'balance', ledger_balance_json(member),
    'base_points', base, 'bonus_points', bonus));
END $function$;

-- Counts `amount` against a partner's issuance cap for the UTC day (member '' is the partner's
-- total), or refuses with issuance_limit_reached. The upsert's WHERE sees the latest count under
-- the row lock, so concurrent earns are checked one after another.
CREATE OR REPLACE FUNCTION ledger_issue_within(partner text, member text, amount bigint, cap bigint, now timestamp with time zone, what text)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE d text := to_char(now AT TIME ZONE 'UTC', 'YYYY-MM-DD');
BEGIN
  IF amount > cap THEN
    PERFORM ledger_refusal('issuance_limit_reached', format('Issuing %s points is over your issuance limit of %s.', amount, what));
  END IF;
  INSERT INTO issuance_days AS i (partner_id, day, member_id, points) VALUES (partner, d, member, amount)
  ON CONFLICT (partner_id, day, member_id) DO UPDATE SET points = i.points + excluded.points
   WHERE i.points + excluded.points <= cap;
  IF NOT FOUND THEN
    PERFORM ledger_refusal('issuance_limit_reached',
      format('Issuing %s points would go over your issuance limit of %s (UTC day %s).', amount, what, d));
  END IF;
END $function$;

-- What a partner may issue: within its credit limit (postpaid), out of its prepaid block
-- (prepaid), and within its daily issuance limits. Earns and activities both pass here, with the
-- points they credit (`total`, of which `op_funded` the operator pays for).
CREATE OR REPLACE FUNCTION ledger_issue_checks(p partners, member text, total bigint, op_funded bigint, now timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE exposure numeric;
BEGIN
  -- Postpaid partners with a credit limit: what they would owe unsettled after these points must
  -- stay within it. The partner row is locked so concurrent earns are checked one after another.
  IF p.prepaid_points IS NULL AND p.credit_limit IS NOT NULL THEN
    PERFORM 1 FROM partners WHERE id = p.id FOR UPDATE;
    exposure := ledger_partner_exposure(p.id);
    IF p.billing = 'issuance' THEN exposure := exposure + (total - op_funded) * p.issue_price_per_point; END IF;
    IF exposure > p.credit_limit THEN
      PERFORM ledger_refusal('credit_limit_exceeded',
        format('Issuing these points would bring your unsettled amount to %s %s, over your credit limit of %s.',
               round(exposure, 2), p.settlement_currency, p.credit_limit::numeric(20,2)));
    END IF;
  END IF;
  -- Prepaid partners: the points they pay for come out of their block, atomically.
  IF p.prepaid_points IS NOT NULL AND total - op_funded > 0 THEN
    UPDATE partners SET prepaid_points = prepaid_points - (total - op_funded)
     WHERE id = p.id AND prepaid_points >= total - op_funded;
    IF NOT FOUND THEN
      PERFORM ledger_refusal('prepaid_points_exhausted',
        format('Your prepaid block has %s points left; these points need %s.', p.prepaid_points, total - op_funded));
    END IF;
  END IF;
  -- Issuance limits: the day's counters move only within their caps (one conditional upsert each,
  -- so concurrent postings cannot pass a cap together).
  IF p.member_daily_points_limit IS NOT NULL THEN
    PERFORM ledger_issue_within(p.id, member, total, p.member_daily_points_limit, now,
      format('%s points to one member per day', p.member_daily_points_limit));
  END IF;
  IF p.daily_points_limit IS NOT NULL THEN
    PERFORM ledger_issue_within(p.id, '', total, p.daily_points_limit, now, format('%s points per day', p.daily_points_limit));
  END IF;
END $function$;
