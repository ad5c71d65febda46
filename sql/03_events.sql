-- The outbox: an event row written in the posting's own transaction.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_emit(partner text, kind text, data jsonb, now timestamp with time zone)
 RETURNS void
 LANGUAGE sql
AS $function$
  INSERT INTO events (id, partner_id, type, data, created_at, next_attempt_at)
  VALUES ('evt_' || replace(gen_random_uuid()::text, '-', ''), partner, kind, data, now, now)
$function$;
