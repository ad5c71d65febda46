-- Each lot move carries the facts settlement needs: when, by which kind of posting, from whose
-- lot, under which billing, and its value at the earn's locked issue price (partner-funded share).
CREATE FUNCTION lot_moves_fill_facts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE p postings; e postings;
BEGIN
  SELECT * INTO p FROM postings WHERE id = NEW.posting_id;
  SELECT * INTO e FROM postings WHERE id = NEW.lot_id;
  NEW.created_at := p.created_at;
  NEW.posting_type := p.type;
  NEW.issuer_id := e.partner_id;
  NEW.issuer_billing := e.billing;
  NEW.issue_value := CASE WHEN e.points > 0
    THEN round(-NEW.points * e.issue_price_per_point * (e.points - e.operator_funded_points)::numeric / e.points, 12) END;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER lot_moves_facts BEFORE INSERT ON lot_moves FOR EACH ROW EXECUTE FUNCTION lot_moves_fill_facts();
--> statement-breakpoint
ALTER TABLE lot_moves DISABLE TRIGGER lot_moves_append_only;
--> statement-breakpoint
UPDATE lot_moves mv SET created_at = p.created_at, posting_type = p.type, issuer_id = e.partner_id, issuer_billing = e.billing,
       issue_value = CASE WHEN e.points > 0 THEN round(-mv.points * e.issue_price_per_point * (e.points - e.operator_funded_points)::numeric / e.points, 12) END
  FROM postings p, postings e WHERE p.id = mv.posting_id AND e.id = mv.lot_id;
--> statement-breakpoint
ALTER TABLE lot_moves ENABLE TRIGGER lot_moves_append_only;
