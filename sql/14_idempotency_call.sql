-- The one entry point of a posting: spends the token, claims the Idempotency-Key, posts or records the refusal, stores the answer.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

-- Answers are domain outcomes, stored as such: {"result": …} or {"refusal": {code, detail}}, with the
-- request id of the first answer. TypeScript renders them (status, problem+json), first time and replay alike.
CREATE OR REPLACE FUNCTION ledger_call(op text, args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE stored idempotency_keys; answer jsonb; code text; detail text;
BEGIN
  PERFORM ledger_spend_token(ctx);
  INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)
  VALUES (ctx->>'scope', ctx->>'idem_key', ctx->>'fingerprint', (ctx->>'now')::timestamptz)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    SELECT * INTO stored FROM idempotency_keys WHERE scope = ctx->>'scope' AND key = ctx->>'idem_key';
    IF stored.fingerprint <> ctx->>'fingerprint' THEN
      PERFORM ledger_refusal('idempotency_key_reused', 'This Idempotency-Key was used for a different request.');
    END IF;
    IF stored.outcome IS NOT NULL THEN
      RETURN stored.outcome || jsonb_build_object('replayed', true);
    END IF;
    -- An answer stored before outcomes were domain-level: replayed as it was.
    RETURN jsonb_build_object('stored', jsonb_build_object('status', stored.status_code, 'body', stored.response_body), 'replayed', true);
  END IF;
  BEGIN
    answer := jsonb_build_object('result', CASE op
      WHEN 'earn' THEN ledger_earn(args, ctx)
      WHEN 'burn' THEN ledger_burn(args, ctx)
      WHEN 'hold' THEN ledger_hold(args, ctx)
      WHEN 'capture' THEN ledger_capture(args, ctx)
      WHEN 'void' THEN ledger_void(args, ctx)
      WHEN 'reverse' THEN ledger_reverse(args, ctx)
      WHEN 'redeem' THEN ledger_redeem(args, ctx)
      WHEN 'redemption_cancel' THEN ledger_redemption_cancel(args, ctx)
      WHEN 'redemption_reject' THEN ledger_redemption_reject(args, ctx)
      WHEN 'redemption_fulfil' THEN ledger_redemption_fulfil(args, ctx)
      WHEN 'voucher_use' THEN ledger_voucher_use(args, ctx)
      WHEN 'transfer' THEN ledger_transfer(args, ctx)
      WHEN 'activity' THEN ledger_activity(args, ctx)
    END);
    IF answer->'result' IS NULL THEN RAISE EXCEPTION 'unknown ledger operation %', op; END IF;
  EXCEPTION WHEN SQLSTATE 'CLR01' THEN
    -- A refusal is the request's answer: stored like a result, and nothing else of it is kept.
    GET STACKED DIAGNOSTICS code = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    answer := jsonb_build_object('refusal', jsonb_build_object('code', code, 'detail', detail));
  END;
  answer := answer || jsonb_build_object('request_id', ctx->>'request_id');
  UPDATE idempotency_keys SET outcome = answer WHERE scope = ctx->>'scope' AND key = ctx->>'idem_key';
  RETURN answer || jsonb_build_object('replayed', false);
END $function$;
