-- The ledger's postings as SQL functions: each API posting is one call, one round trip, one
-- transaction (jti, idempotency record, effect and stored answer commit together or not at all).
-- Refusals raise SQLSTATE CLnnn (nnn = HTTP status); message = the spec's code, detail = text.
-- Only features of Postgres 15 are used (the machine's server); PGlite runs the same file.

-- Append-only ledger rows.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger rows are append-only: % on % refused; post a correction instead', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'CL500';
END $$;
--> statement-breakpoint
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
--> statement-breakpoint
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
--> statement-breakpoint
CREATE TRIGGER lot_moves_append_only BEFORE UPDATE OR DELETE ON lot_moves FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
--> statement-breakpoint
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
--> statement-breakpoint
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
--> statement-breakpoint

-- Every posting balances: checked at commit, after all its entries are in.
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE total bigint;
BEGIN
  SELECT coalesce(sum(amount), 0) INTO total FROM entries WHERE posting_id = NEW.posting_id;
  IF total <> 0 THEN
    RAISE EXCEPTION 'posting % does not balance (sum of entries %)', NEW.posting_id, total USING ERRCODE = 'CL500';
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON entries DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
--> statement-breakpoint

CREATE FUNCTION ledger_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
--> statement-breakpoint

CREATE FUNCTION ledger_refusal(status int, code text, detail text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'CL' || status::text, MESSAGE = code, DETAIL = detail;
END $$;
--> statement-breakpoint

-- A transaction as the API shows it.
CREATE FUNCTION ledger_txn_json(p postings, now timestamptz) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object(
    'transaction_id', p.id,
    'type', p.type,
    'partner_id', p.partner_id,
    'member_id', p.member_id,
    'points', p.points,
    'reference', p.reference,
    'status', CASE WHEN p.available_at IS NOT NULL AND p.available_at > now THEN 'pending' ELSE 'posted' END,
    'created_at', ledger_ts(p.created_at),
    'available_at', ledger_ts(p.available_at),
    'original_transaction_id', p.original_id
  )) || jsonb_build_object('reference', p.reference)
$$;
--> statement-breakpoint

CREATE FUNCTION ledger_balance_json(member text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('available', available, 'pending', pending, 'held', held) FROM members WHERE id = member
$$;
--> statement-breakpoint

-- Spends a request token's jti and counts the request against the partner's rate limit.
-- ctx: issuer, jti, jti_expires_at, partner_id (null for staff), window_start, shard, shards, rate_limit, retry_after
CREATE FUNCTION ledger_spend_token(ctx jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE shard_count int;
BEGIN
  INSERT INTO used_tokens (issuer, jti, expires_at)
  VALUES (ctx->>'issuer', ctx->>'jti', (ctx->>'jti_expires_at')::timestamptz)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    PERFORM ledger_refusal(401, 'replayed_token', 'This token (jti) was already used; sign a fresh token for every request.');
  END IF;
  IF ctx->>'partner_id' IS NOT NULL AND ctx ? 'rate_limit' THEN
    INSERT INTO rate_windows (partner_id, window_start, shard, count)
    VALUES (ctx->>'partner_id', (ctx->>'window_start')::timestamptz, (ctx->>'shard')::smallint, 1)
    ON CONFLICT (partner_id, window_start, shard) DO UPDATE SET count = rate_windows.count + 1
    RETURNING count INTO shard_count;
    IF shard_count::bigint * (ctx->>'shards')::int > (ctx->>'rate_limit')::int THEN
      RAISE EXCEPTION USING ERRCODE = 'CL429', MESSAGE = 'rate_limited',
        DETAIL = format('Over %s requests a minute; retry after %s s.', ctx->>'rate_limit', ctx->>'retry_after'),
        HINT = ctx->>'retry_after';
    END IF;
  END IF;
END $$;
--> statement-breakpoint

-- The member a partner may act on (its own active link), locked for the posting.
CREATE FUNCTION ledger_member_for(partner text, ref text, lock boolean DEFAULT true) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text;
BEGIN
  SELECT l.member_id INTO m FROM member_links l JOIN members mm ON mm.id = l.member_id
   WHERE l.partner_id = partner AND l.unlinked_at IS NULL AND mm.status = 'active'
     AND CASE WHEN ref LIKE 'ext:%' THEN l.external_ref = substr(ref, 5) ELSE l.member_id = ref END;
  IF m IS NOT NULL AND lock THEN
    PERFORM 1 FROM members WHERE id = m FOR UPDATE;
  END IF;
  IF m IS NULL THEN
    PERFORM ledger_refusal(404, 'member_not_found', 'No such member is linked to you.');
  END IF;
  RETURN m;
END $$;
--> statement-breakpoint

-- Takes `amount` points out of the member's released lots, the given lot first, then oldest
-- first, recording each move under `posting`. Returns what it took.
CREATE FUNCTION ledger_lots_take(member text, amount bigint, posting text, first_lot text DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE lot record; want bigint := amount; take bigint;
BEGIN
  IF want <= 0 THEN RETURN 0; END IF;
  FOR lot IN
    SELECT id, remaining FROM lots
     WHERE member_id = member AND released AND remaining > 0
     ORDER BY (id = first_lot) DESC NULLS LAST, expires_at, id
     FOR UPDATE
  LOOP
    take := least(lot.remaining, want);
    UPDATE lots SET remaining = remaining - take WHERE id = lot.id;
    INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (posting, lot.id, -take);
    want := want - take;
    EXIT WHEN want = 0;
  END LOOP;
  RETURN amount - want;
END $$;
--> statement-breakpoint

-- Keeps released lots equal to max(available + held, 0): after a posting changed the balance,
-- take from lots (oldest first) or give back to the lots `source` took from (newest first).
CREATE FUNCTION ledger_lots_follow(member text, posting text, source text DEFAULT NULL, first_lot text DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
DECLARE target bigint; have bigint; gap bigint; mv record; give bigint;
BEGIN
  SELECT greatest(available + held, 0) INTO target FROM members WHERE id = member;
  SELECT coalesce(sum(remaining), 0) INTO have FROM lots WHERE member_id = member AND released;
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
--> statement-breakpoint

CREATE FUNCTION ledger_entry(posting text, account text, amount bigint) RETURNS void LANGUAGE sql AS $$
  INSERT INTO entries (posting_id, account, amount) SELECT posting, account, amount WHERE amount <> 0
$$;
--> statement-breakpoint

-- Releases the member's pending lots whose time has come (never early).
CREATE FUNCTION ledger_release_due(member text, now timestamptz, id_prefix text) RETURNS int LANGUAGE plpgsql AS $$
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
    ELSE
      UPDATE lots SET released = true WHERE id = lot.id;
    END IF;
  END LOOP;
  RETURN n;
END $$;
--> statement-breakpoint

-- Ends the member's authorized holds whose TTL has passed: held points go back to available.
CREATE FUNCTION ledger_expire_holds(member text, now timestamptz, id_prefix text) RETURNS int LANGUAGE plpgsql AS $$
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
  END LOOP;
  RETURN n;
END $$;
--> statement-breakpoint

-- Brings a member up to date before it is read or posted to: due pending points released, lapsed holds ended.
CREATE FUNCTION ledger_settle_member(member text, now timestamptz, id_prefix text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  -- The member row first, always: every posting path locks member before lots and holds (no deadlocks).
  IF EXISTS (SELECT 1 FROM lots WHERE member_id = member AND NOT released AND available_at <= now)
     OR EXISTS (SELECT 1 FROM holds WHERE member_id = member AND status = 'authorized' AND expires_at <= now) THEN
    PERFORM 1 FROM members WHERE id = member FOR UPDATE;
  END IF;
  IF EXISTS (SELECT 1 FROM lots WHERE member_id = member AND NOT released AND available_at <= now) THEN
    PERFORM ledger_release_due(member, now, id_prefix);
  END IF;
  IF EXISTS (SELECT 1 FROM holds WHERE member_id = member AND status = 'authorized' AND expires_at <= now) THEN
    PERFORM ledger_expire_holds(member, now, id_prefix);
  END IF;
END $$;
--> statement-breakpoint

-- Points earned over the tier window: earns made since then, net of their own reversals
-- (a reversal counts against the earn it reverses, whenever it happens).
CREATE FUNCTION ledger_earned_since(member text, since timestamptz) RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(e.points - coalesce((SELECT sum(r.points) FROM postings r
                                           WHERE r.original_id = e.id AND r.type = 'earn_reversal'), 0)), 0)::bigint
    FROM postings e WHERE e.member_id = member AND e.type = 'earn' AND e.created_at >= since
$$;
--> statement-breakpoint

-- How many points an earn gives. args: partner_id, member, amount_minor, currency, category,
-- points?; ctx: now, tiers [{name, threshold, multiplier}] ascending, tier_window_start.
-- Returns base_points, bonus_points (tier bonus, operator-funded), tier, rates used.
CREATE FUNCTION ledger_earn_quote(args jsonb, ctx jsonb, member text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  p record; rate numeric; exponent int; base bigint; bonus bigint := 0; earned bigint := 0;
  tier jsonb; t jsonb; cur text := args->>'currency';
BEGIN
  SELECT * INTO p FROM partners WHERE id = args->>'partner_id';
  SELECT points_per_unit INTO rate FROM partner_earn_rules
   WHERE partner_id = p.id AND currency = cur AND category IN (coalesce(args->>'category', '*'), '*')
   ORDER BY (category = '*') ASC LIMIT 1;
  IF rate IS NULL THEN
    PERFORM ledger_refusal(422, 'validation_failed',
      format('No earn rule of %s matches currency %s and category %s.', p.id, cur, coalesce(args->>'category', '*')));
  END IF;
  exponent := CASE WHEN cur IN ('BIF','CLP','DJF','GNF','ISK','JPY','KMF','KRW','PYG','RWF','UGX','UYI','VND','VUV','XAF','XOF','XPF') THEN 0
                   WHEN cur IN ('BHD','IQD','JOD','KWD','LYD','OMR','TND') THEN 3 ELSE 2 END;
  IF args ? 'points' THEN
    IF NOT p.allow_explicit_points THEN
      PERFORM ledger_refusal(422, 'explicit_points_not_allowed', 'Your contract does not allow explicit points; send amount_minor and currency only.');
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
    bonus := floor(base * ((tier->>'multiplier')::numeric - 1))::bigint;
  END IF;
  IF base + bonus < 1 THEN
    PERFORM ledger_refusal(422, 'validation_failed', 'This purchase earns no points.');
  END IF;
  IF base + bonus > 1000000000 THEN
    PERFORM ledger_refusal(422, 'validation_failed', 'An earn may credit at most 1,000,000,000 points.');
  END IF;
  RETURN jsonb_build_object('base_points', base, 'bonus_points', bonus, 'operator_funded_points', bonus,
                            'tier', tier->>'name', 'points_per_unit', rate::text);
END $$;
--> statement-breakpoint

CREATE FUNCTION ledger_earn(args jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id';
  partner text := args->>'partner_id'; member text; q jsonb; total bigint; base bigint; bonus bigint; op_funded bigint;
  avail_at timestamptz; is_pending boolean; p record; debt bigint; pay bigint; post postings;
BEGIN
  member := ledger_member_for(partner, args->>'member');
  PERFORM ledger_settle_member(member, now, pid);
  q := ledger_earn_quote(args, ctx, member);
  base := (q->>'base_points')::bigint; bonus := (q->>'bonus_points')::bigint; op_funded := (q->>'operator_funded_points')::bigint;
  total := base + bonus;
  avail_at := coalesce((args->>'available_at')::timestamptz, now);
  is_pending := avail_at > now;
  SELECT * INTO p FROM partners WHERE id = partner;
  INSERT INTO postings (id, type, partner_id, member_id, points, base_points, bonus_points, operator_funded_points, reference,
                        created_at, occurred_at, available_at, currency, amount_minor, category, settlement_currency, billing,
                        issue_price_per_point, redemption_price_per_point)
  VALUES (pid, 'earn', partner, member, total, base, bonus, op_funded, args->>'reference',
          now, (args->>'occurred_at')::timestamptz, CASE WHEN is_pending THEN avail_at END, args->>'currency', (args->>'amount_minor')::bigint, args->>'category',
          p.settlement_currency, p.billing, p.issue_price_per_point, p.redemption_price_per_point)
  RETURNING * INTO post;
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

-- Takes points from available for a burn or a hold: one conditional update, so concurrent
-- spends can never take available below zero.
CREATE FUNCTION ledger_spend(member text, amount bigint, into_held boolean, now timestamptz) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE members SET available = available - amount,
                     held = held + CASE WHEN into_held THEN amount ELSE 0 END,
                     last_activity_at = now
   WHERE id = member AND available >= amount;
  IF NOT FOUND THEN
    PERFORM ledger_refusal(422, 'insufficient_points',
      format('The member has %s points available; %s were asked for.', (SELECT available FROM members WHERE id = member), amount));
  END IF;
END $$;
--> statement-breakpoint

CREATE FUNCTION ledger_burn(args jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id'; partner text := args->>'partner_id';
  member text; amount bigint := (args->>'points')::bigint; p record; post postings;
BEGIN
  member := ledger_member_for(partner, args->>'member');
  PERFORM ledger_settle_member(member, now, pid);
  PERFORM ledger_spend(member, amount, false, now);
  SELECT * INTO p FROM partners WHERE id = partner;
  INSERT INTO postings (id, type, partner_id, member_id, points, reference, created_at, settlement_currency, billing,
                        issue_price_per_point, redemption_price_per_point)
  VALUES (pid, 'burn', partner, member, amount, args->>'reference', now, p.settlement_currency, p.billing,
          p.issue_price_per_point, p.redemption_price_per_point)
  RETURNING * INTO post;
  PERFORM ledger_entry(pid, 'member:' || member || ':available', -amount);
  PERFORM ledger_entry(pid, 'partner:' || partner || ':redeemed', amount);
  PERFORM ledger_lots_follow(member, pid);
  RETURN jsonb_build_object('status', 201, 'body', jsonb_build_object(
    'transaction', ledger_txn_json(post, now), 'balance', ledger_balance_json(member)));
END $$;
--> statement-breakpoint

CREATE FUNCTION ledger_hold_json(h holds, now timestamptz) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('hold_id', h.id, 'status', h.status, 'points', h.points, 'expires_at', ledger_ts(h.expires_at))
$$;
--> statement-breakpoint

CREATE FUNCTION ledger_hold(args jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
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
  RETURN jsonb_build_object('status', 201, 'body', ledger_hold_json(h, now) || jsonb_build_object('balance', ledger_balance_json(member)));
END $$;
--> statement-breakpoint

-- The caller's authorized hold, locked; lapsed holds are ended first (and then refused).
CREATE FUNCTION ledger_active_hold(partner text, hold text, now timestamptz, pid text) RETURNS holds LANGUAGE plpgsql AS $$
DECLARE h holds;
BEGIN
  SELECT * INTO h FROM holds WHERE id = hold AND partner_id = partner;
  IF h.id IS NULL THEN
    PERFORM ledger_refusal(404, 'not_found', 'No such hold.');
  END IF;
  PERFORM 1 FROM members WHERE id = h.member_id FOR UPDATE;
  PERFORM ledger_settle_member(h.member_id, now, pid);
  SELECT * INTO h FROM holds WHERE id = hold FOR UPDATE;
  IF h.status <> 'authorized' THEN
    PERFORM ledger_refusal(422, 'hold_not_active', format('The hold is %s.', h.status));
  END IF;
  RETURN h;
END $$;
--> statement-breakpoint

CREATE FUNCTION ledger_capture(args jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id'; partner text := args->>'partner_id';
  h holds; amount bigint; rest bigint; p record; post postings; rid text := pid || '_rest';
BEGIN
  h := ledger_active_hold(partner, args->>'hold_id', now, pid);
  amount := coalesce((args->>'points')::bigint, h.points);
  IF amount > h.points THEN
    PERFORM ledger_refusal(422, 'capture_exceeds_hold', format('The hold is for %s points; %s were asked for.', h.points, amount));
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
  RETURN jsonb_build_object('status', 200, 'body', jsonb_build_object(
    'hold_id', h.id, 'status', 'captured', 'captured_points', amount,
    'transaction', ledger_txn_json(post, now), 'balance', ledger_balance_json(h.member_id)));
END $$;
--> statement-breakpoint

CREATE FUNCTION ledger_void(args jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id'; h holds;
BEGIN
  h := ledger_active_hold(args->>'partner_id', args->>'hold_id', now, pid);
  INSERT INTO postings (id, type, partner_id, member_id, points, reference, created_at, hold_id)
  VALUES (pid, 'hold_release', h.partner_id, h.member_id, h.points, h.reference, now, h.id);
  PERFORM ledger_entry(pid, 'member:' || h.member_id || ':held', -h.points);
  PERFORM ledger_entry(pid, 'member:' || h.member_id || ':available', h.points);
  UPDATE members SET held = held - h.points, available = available + h.points, last_activity_at = now WHERE id = h.member_id;
  UPDATE holds SET status = 'voided', closed_at = now WHERE id = h.id;
  RETURN jsonb_build_object('status', 200, 'body', jsonb_build_object(
    'hold_id', h.id, 'status', 'voided', 'balance', ledger_balance_json(h.member_id)));
END $$;
--> statement-breakpoint

-- A reversal of an earn (points taken back, even if spent: available may go negative) or a
-- refund of a burn (points given back). Never more than the original in total.
CREATE FUNCTION ledger_reverse(args jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
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
--> statement-breakpoint

-- One API posting, one call: spend the jti, claim the Idempotency-Key, act, store the answer.
-- A business refusal is stored as the answer (the effect rolled back to a savepoint first);
-- a replayed token, a rate limit or a reused key abort the whole call and write nothing.
-- ctx: token fields (see ledger_spend_token), scope, idem_key, fingerprint, request_id, problem_base, now, ...
CREATE FUNCTION ledger_call(op text, args jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE stored idempotency_keys; result jsonb; code text; detail text; state text;
BEGIN
  PERFORM ledger_spend_token(ctx);
  INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)
  VALUES (ctx->>'scope', ctx->>'idem_key', ctx->>'fingerprint', (ctx->>'now')::timestamptz)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    SELECT * INTO stored FROM idempotency_keys WHERE scope = ctx->>'scope' AND key = ctx->>'idem_key';
    IF stored.fingerprint <> ctx->>'fingerprint' THEN
      PERFORM ledger_refusal(409, 'idempotency_key_reused', 'This Idempotency-Key was used for a different request.');
    END IF;
    RETURN jsonb_build_object('status', stored.status_code, 'body', stored.response_body, 'replayed', true);
  END IF;
  BEGIN
    result := CASE op
      WHEN 'earn' THEN ledger_earn(args, ctx)
      WHEN 'burn' THEN ledger_burn(args, ctx)
      WHEN 'hold' THEN ledger_hold(args, ctx)
      WHEN 'capture' THEN ledger_capture(args, ctx)
      WHEN 'void' THEN ledger_void(args, ctx)
      WHEN 'reverse' THEN ledger_reverse(args, ctx)
    END;
    IF result IS NULL THEN RAISE EXCEPTION 'unknown ledger operation %', op; END IF;
  EXCEPTION WHEN SQLSTATE 'CL404' OR SQLSTATE 'CL409' OR SQLSTATE 'CL422' THEN
    GET STACKED DIAGNOSTICS code = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL, state = RETURNED_SQLSTATE;
    result := jsonb_build_object('status', substr(state, 3)::int, 'body', jsonb_build_object(
      'type', (ctx->>'problem_base') || replace(code, '_', '-'),
      'title', upper(left(replace(code, '_', ' '), 1)) || substr(replace(code, '_', ' '), 2),
      'status', substr(state, 3)::int,
      'detail', detail,
      'code', code,
      'request_id', ctx->>'request_id'));
  END;
  UPDATE idempotency_keys SET status_code = (result->>'status')::smallint, response_body = result->'body'
   WHERE scope = ctx->>'scope' AND key = ctx->>'idem_key';
  RETURN result || jsonb_build_object('replayed', false);
END $$;
--> statement-breakpoint

-- The quote endpoint: the same arithmetic as an earn, no writes.
CREATE FUNCTION ledger_quote(args jsonb, ctx jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE q jsonb;
BEGIN
  q := ledger_earn_quote(args, ctx, ledger_member_for(args->>'partner_id', args->>'member', false));
  RETURN jsonb_build_object('points', (q->>'base_points')::bigint + (q->>'bonus_points')::bigint,
                            'base_points', (q->>'base_points')::bigint, 'bonus_points', (q->>'bonus_points')::bigint);
END $$;
--> statement-breakpoint

-- Expires lots past their date, oldest first, into the breakage account; bounded per call.
-- Only points actually available expire (points under an active hold wait for its outcome).
CREATE FUNCTION ledger_expire_lots(now timestamptz, max_lots int, id_prefix text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE lot record; n int := 0; pid text; take bigint; avail bigint;
BEGIN
  FOR lot IN SELECT id, member_id, partner_id, remaining FROM lots
              WHERE released AND remaining > 0 AND expires_at <= now
              ORDER BY expires_at, id LIMIT max_lots FOR UPDATE SKIP LOCKED LOOP
    PERFORM 1 FROM members WHERE id = lot.member_id FOR UPDATE;
    SELECT remaining INTO take FROM lots WHERE id = lot.id;
    SELECT greatest(available, 0) INTO avail FROM members WHERE id = lot.member_id;
    take := least(take, avail);
    CONTINUE WHEN take <= 0;
    n := n + 1;
    pid := id_prefix || '_x' || n;
    INSERT INTO postings (id, type, partner_id, member_id, points, created_at, original_id)
    VALUES (pid, 'expiry', lot.partner_id, lot.member_id, take, now, lot.id);
    PERFORM ledger_entry(pid, 'member:' || lot.member_id || ':available', -take);
    PERFORM ledger_entry(pid, 'operator:breakage', take);
    UPDATE members SET available = available - take WHERE id = lot.member_id;
    UPDATE lots SET remaining = remaining - take WHERE id = lot.id;
    INSERT INTO lot_moves (posting_id, lot_id, points) VALUES (pid, lot.id, -take);
  END LOOP;
  RETURN n;
END $$;
--> statement-breakpoint

-- Releases due pending points and ends lapsed holds for up to max_members members.
CREATE FUNCTION ledger_settle_due(now timestamptz, max_members int, id_prefix text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE m record; n int := 0;
BEGIN
  FOR m IN SELECT DISTINCT member_id FROM (
             (SELECT member_id FROM lots WHERE NOT released AND available_at <= now ORDER BY available_at LIMIT max_members)
             UNION ALL
             (SELECT member_id FROM holds WHERE status = 'authorized' AND expires_at <= now ORDER BY expires_at LIMIT max_members)) due
  LOOP
    n := n + 1;
    PERFORM 1 FROM members WHERE id = m.member_id FOR UPDATE;
    PERFORM ledger_settle_member(m.member_id, now, id_prefix || '_' || n);
  END LOOP;
  RETURN n;
END $$;
