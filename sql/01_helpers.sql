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
