-- The one entry point of a posting: spends the token, claims the Idempotency-Key, posts or records the refusal, stores the answer.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_call(op text, args jsonb, ctx jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
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
END $function$;
