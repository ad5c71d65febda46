-- Settlement: final runs and statements are immutable.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION statements_refuse_final_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF OLD.status = 'final' THEN
    RAISE EXCEPTION 'final statement % is immutable', OLD.id USING ERRCODE = 'CLI01';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $function$;

CREATE OR REPLACE FUNCTION settlement_runs_refuse_final_change()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF OLD.status = 'final' THEN
    RAISE EXCEPTION 'final settlement run % is immutable', OLD.id USING ERRCODE = 'CLI01';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $function$;
