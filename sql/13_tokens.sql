-- Request tokens: a jti spent at most once per issuer, and the per-partner rate window.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_spend_token(ctx jsonb)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE shard_count int;
BEGIN
  INSERT INTO used_tokens (issuer, jti, expires_at)
  VALUES (ctx->>'issuer', ctx->>'jti', (ctx->>'jti_expires_at')::timestamptz)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    PERFORM ledger_refusal('replayed_token', 'This token (jti) was already used; sign a fresh token for every request.');
  END IF;
  IF ctx->>'partner_id' IS NOT NULL AND ctx ? 'rate_limit' THEN
    INSERT INTO rate_windows (partner_id, window_start, shard, count)
    VALUES (ctx->>'partner_id', (ctx->>'window_start')::timestamptz, (ctx->>'shard')::smallint, 1)
    ON CONFLICT (partner_id, window_start, shard) DO UPDATE SET count = rate_windows.count + 1
    RETURNING count INTO shard_count;
    IF shard_count::bigint * (ctx->>'shards')::int > (ctx->>'rate_limit')::int THEN
      RAISE EXCEPTION USING ERRCODE = 'CLR01', MESSAGE = 'rate_limited', -- HINT: seconds to wait
        DETAIL = format('Over %s requests a minute; retry after %s s.', ctx->>'rate_limit', ctx->>'retry_after'),
        HINT = ctx->>'retry_after';
    END IF;
  END IF;
END $function$;
