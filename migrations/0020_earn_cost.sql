-- Cheaper postings (issue 8's profile and benchmark). Same results; the ledger model test checks
-- them against its own arithmetic. The entry calls were a good part of an earn's time in Postgres;
-- every burn summed the member's lots with a scan of the whole lots table (no index matched), and
-- spending sorted all of a member's open lots before taking from the first. (The tier window sum
-- is rebuilt in 0024.)

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
  -- The three legs in one statement (zero legs left out), not three function calls.
  INSERT INTO entries (posting_id, account, amount)
  SELECT pid, leg.account, leg.amount
    FROM (VALUES ('member:' || member || CASE WHEN is_pending THEN ':pending' ELSE ':available' END, total),
                 ('partner:' || partner || ':issued', -(total - op_funded)),
                 ('operator:bonus', -op_funded)) AS leg(account, amount)
   WHERE leg.amount <> 0;
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

-- Takes `amount` points out of the member's released lots, the given lot first, then oldest
-- first (expires_at, id: the order of index lots_member_open_order), recording each move.
CREATE OR REPLACE FUNCTION ledger_lots_take(member text, amount bigint, posting text, first_lot text DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $$
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
END $$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION ledger_lots_follow(member text, posting text, source text DEFAULT NULL, first_lot text DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
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
          RAISE EXCEPTION 'lot % moved twice by posting %', mv.id, posting USING ERRCODE = 'CL500';
        END IF;
        gap := gap - give;
      END IF;
      EXIT WHEN gap = 0;
    END LOOP;
  END IF;
END $$;
