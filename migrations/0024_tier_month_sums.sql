-- The tier window from monthly sums: O(months), not O(earns in a year). Postings stay the record;
-- member_earn_months is derived from them (by this trigger, in the posting's own transaction) and
-- ledger:verify recomputes it. Months are UTC calendar months.
CREATE FUNCTION ledger_month(t timestamptz) RETURNS date LANGUAGE sql IMMUTABLE AS $$
  SELECT date_trunc('month', t AT TIME ZONE 'UTC')::date
$$;
--> statement-breakpoint

CREATE FUNCTION ledger_count_earn_month() RETURNS trigger LANGUAGE plpgsql AS $$
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
END $$;
--> statement-breakpoint
CREATE TRIGGER postings_earn_months AFTER INSERT ON postings FOR EACH ROW
  WHEN (NEW.type IN ('earn', 'earn_reversal')) EXECUTE FUNCTION ledger_count_earn_month();
--> statement-breakpoint

-- What the trigger would have written for the postings already there.
INSERT INTO member_earn_months (member_id, month, points)
SELECT p.member_id, ledger_month(coalesce(o.created_at, p.created_at)),
       sum(CASE WHEN p.type = 'earn' THEN p.points ELSE -p.points END)
  FROM postings p LEFT JOIN postings o ON p.type = 'earn_reversal' AND o.id = p.original_id
 WHERE p.type IN ('earn', 'earn_reversal')
 GROUP BY 1, 2;
--> statement-breakpoint

-- Points earned since `since`, net of their reversals: whole months after the one `since` falls
-- in from the monthly sums, and the rest of that month earn by earn (it may start mid-month).
-- PL/pgSQL, not SQL: its statements' plans are cached, where a SQL function's are made per call.
CREATE OR REPLACE FUNCTION ledger_earned_since(member text, since timestamptz) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
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
END $$;
