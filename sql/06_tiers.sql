-- Tier window: points earned over a rolling 12 months, from per-member monthly sums kept by trigger.
-- The one current definition of each function here; `npm run db:migrate` applies this file
-- whenever it changes (see src/db/functions.ts). Change the function here, never in a migration.

CREATE OR REPLACE FUNCTION ledger_count_earn_month()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE m date; delta bigint;
BEGIN
  IF NEW.type = 'earn' THEN
    m := ledger_month(NEW.created_at); delta := NEW.points;
  ELSE -- earn_reversal: counts against the month of the earn it reverses (its own if none is found)
    SELECT ledger_month(created_at) INTO m FROM postings WHERE id = NEW.original_id;
    m := coalesce(m, ledger_month(NEW.created_at));
    delta := -NEW.points;
  END IF;
  INSERT INTO member_earn_months AS s (member_id, month, points) VALUES (NEW.member_id, m, delta)
  ON CONFLICT (member_id, month) DO UPDATE SET points = s.points + EXCLUDED.points;
  RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION ledger_earned_since(member text, since timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
  edge date := ledger_month(since);
  edge_end timestamptz := (ledger_month(since) + interval '1 month') AT TIME ZONE 'UTC';
  total bigint;
BEGIN
  SELECT coalesce(sum(s.points), 0) INTO total FROM member_earn_months s WHERE s.member_id = member AND s.month > edge;
  total := total + coalesce((SELECT sum(e.points) FROM postings e
                              WHERE e.member_id = member AND e.type = 'earn' AND e.created_at >= since AND e.created_at < edge_end), 0);
  total := total - coalesce((SELECT sum(r.points) FROM postings r JOIN postings e ON e.id = r.original_id
                              WHERE r.member_id = member AND r.type = 'earn_reversal' AND e.created_at >= since AND e.created_at < edge_end), 0);
  RETURN total;
END $function$;
