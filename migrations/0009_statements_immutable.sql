-- A final statement never changes: numbered and signed, it is what finance and the partner agreed on.
CREATE FUNCTION statements_refuse_final_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'final' THEN
    RAISE EXCEPTION 'final statement % is immutable', OLD.id USING ERRCODE = 'CL500';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
--> statement-breakpoint
CREATE TRIGGER statements_final_immutable BEFORE UPDATE OR DELETE ON statements FOR EACH ROW EXECUTE FUNCTION statements_refuse_final_change();
--> statement-breakpoint
CREATE FUNCTION settlement_runs_refuse_final_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'final' THEN
    RAISE EXCEPTION 'final settlement run % is immutable', OLD.id USING ERRCODE = 'CL500';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
--> statement-breakpoint
CREATE TRIGGER settlement_runs_final_immutable BEFORE UPDATE OR DELETE ON settlement_runs FOR EACH ROW EXECUTE FUNCTION settlement_runs_refuse_final_change();
