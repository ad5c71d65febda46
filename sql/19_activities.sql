-- Activities: points for more than purchases (reviews, social posts, surveys…) from the partner's rules, with per-member caps; billed like earns.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_activity(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  now timestamptz := (ctx->>'now')::timestamptz; pid text := ctx->>'posting_id'; partner text := args->>'partner_id';
  activity text := args->>'activity'; member text; rule partner_activity_rules; p partners; post postings;
  today bigint; ever bigint; day_start timestamptz := ledger_utc_day_start(now);
BEGIN
  member := ledger_member_for(partner, args->>'member');
  SELECT * INTO rule FROM partner_activity_rules r WHERE r.partner_id = partner AND r.activity = args->>'activity';
  IF rule.partner_id IS NULL THEN
    PERFORM ledger_refusal('validation_failed', format('%s has no activity rule for %s.', partner, activity));
  END IF;
  PERFORM ledger_settle_member(member, now, pid);
  -- Under the member's lock: concurrent activities of one member count each other.
  IF rule.per_member_daily IS NOT NULL OR rule.per_member_total IS NOT NULL THEN
    SELECT count(*) FILTER (WHERE a.created_at >= day_start), count(*) INTO today, ever
      FROM activity_postings a WHERE a.member_id = member AND a.partner_id = partner AND a.activity = rule.activity;
    IF today >= rule.per_member_daily THEN
      PERFORM ledger_refusal('activity_limit_reached',
        format('%s pays for %s at most %s times a UTC day per member; this member has reached that today.', partner, activity, rule.per_member_daily));
    END IF;
    IF ever >= rule.per_member_total THEN
      PERFORM ledger_refusal('activity_limit_reached',
        format('%s pays for %s at most %s times per member; this member has reached that.', partner, activity, rule.per_member_total));
    END IF;
  END IF;
  SELECT * INTO p FROM partners WHERE id = partner;
  PERFORM ledger_issue_checks(p, member, rule.points, 0, now);
  -- Prices locked as on an earn: under issuance billing it pays for them now, under redemption
  -- billing when they are redeemed.
  INSERT INTO postings (id, type, partner_id, member_id, points, base_points, reference, created_at, category,
                        settlement_currency, billing, issue_price_per_point, redemption_price_per_point)
  VALUES (pid, 'activity', partner, member, rule.points, rule.points, args->>'reference', now, rule.activity,
          p.settlement_currency, p.billing, p.issue_price_per_point, p.redemption_price_per_point)
  RETURNING * INTO post;
  PERFORM ledger_entry(pid, 'member:' || member || ':available', rule.points);
  PERFORM ledger_entry(pid, 'partner:' || partner || ':issued', -rule.points);
  PERFORM ledger_credit(pid, member, partner, rule.points, now, now, now + make_interval(months => (ctx->>'expiry_months')::int), true);
  INSERT INTO activity_postings (posting_id, partner_id, member_id, activity, score, created_at)
  VALUES (pid, partner, member, rule.activity, (args->>'score')::smallint, now);
  RETURN jsonb_build_object('transaction', ledger_txn_json(post, now), 'balance', ledger_balance_json(member));
END $function$;
