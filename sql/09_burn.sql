-- Burn: a single conditional update of the member's available points, never overspent.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_burn(args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
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
  RETURN (jsonb_build_object(
    'transaction', ledger_txn_json(post, now), 'balance', ledger_balance_json(member)));
END $function$;
