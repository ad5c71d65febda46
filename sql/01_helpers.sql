-- Small helpers every posting uses: timestamps as the API shows them, refusals, calendar months.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_ts(t timestamp with time zone)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$function$;

-- A business refusal: SQLSTATE CLR01 with the domain code as message (insufficient_points, …).
-- No HTTP here: TypeScript maps each code to its status and problem body, in one table.
CREATE OR REPLACE FUNCTION ledger_refusal(code text, detail text)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'CLR01', MESSAGE = code, DETAIL = detail;
END $function$;

CREATE OR REPLACE FUNCTION ledger_month(t timestamp with time zone)
 RETURNS date
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT date_trunc('month', t AT TIME ZONE 'UTC')::date
$function$;

-- The UTC calendar day a timestamp falls in, as [start, end): daily limits count within it.
CREATE OR REPLACE FUNCTION ledger_utc_day_start(t timestamp with time zone)
 RETURNS timestamp with time zone
 LANGUAGE sql
 IMMUTABLE
AS $function$
  SELECT date_trunc('day', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$function$;

-- An id like TypeScript's newId (src/lib/ids.ts), for postings the SQL makes on its own (bonuses
-- paid by a job or inside another member's posting): 48 bits of milliseconds, then the low five
-- bits of each byte of a v4 UUID (79 random bits: one of them is the version's), Crockford base32.
CREATE OR REPLACE FUNCTION ledger_new_id(prefix text, now timestamp with time zone)
 RETURNS text
 LANGUAGE plpgsql
AS $function$
DECLARE
  alphabet text := '0123456789abcdefghjkmnpqrstvwxyz';
  t bigint := floor(extract(epoch FROM now) * 1000)::bigint; head text := ''; tail text := '';
  r bytea := uuid_send(gen_random_uuid()); i int;
BEGIN
  FOR i IN 1 .. 10 LOOP
    head := substr(alphabet, (t % 32)::int + 1, 1) || head;
    t := t / 32;
  END LOOP;
  FOR i IN 0 .. 15 LOOP
    tail := tail || substr(alphabet, (get_byte(r, i) % 32) + 1, 1);
  END LOOP;
  RETURN prefix || '_' || head || tail;
END $function$;
