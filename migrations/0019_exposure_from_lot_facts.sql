-- Credit exposure reads redemption-billing lineage from the facts each lot move carries (as
-- settlement does) instead of joining every move to its earn.
CREATE OR REPLACE FUNCTION ledger_partner_exposure(partner text) RETURNS numeric LANGUAGE sql STABLE AS $$
  WITH since AS (
    SELECT coalesce(max(period_end)::timestamptz, '-infinity'::timestamptz) AS t FROM settlement_runs WHERE status = 'final'
  ), own AS (
    SELECT coalesce(sum(CASE type
             WHEN 'earn' THEN CASE WHEN billing = 'issuance' THEN (points - operator_funded_points) * issue_price_per_point ELSE 0 END
             WHEN 'earn_reversal' THEN CASE WHEN billing = 'issuance' THEN -(points - operator_funded_points) * issue_price_per_point ELSE 0 END
             WHEN 'burn' THEN -points * redemption_price_per_point
             WHEN 'burn_refund' THEN points * redemption_price_per_point
             ELSE 0 END), 0) AS amount
      FROM postings, since WHERE partner_id = partner AND created_at >= since.t
  ), lineage AS (
    SELECT coalesce(sum(mv.issue_value), 0) AS amount
      FROM lot_moves mv, since
     WHERE mv.issuer_id = partner AND mv.issuer_billing = 'redemption' AND mv.posting_type IN ('burn', 'burn_refund') AND mv.created_at >= since.t
  )
  SELECT own.amount + lineage.amount FROM own, lineage
$$;
