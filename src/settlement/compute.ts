import { sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { currencyExponent, roundHalfEven, subtractDecimals } from "../lib/money.js";

export interface StatementFigures {
  partner_id: string;
  period_start: string;
  period_end: string;
  currency: string;
  billing: "issuance" | "redemption";
  earned_points: number;
  earn_reversed_points: number;
  burned_points: number;
  burn_refunded_points: number;
  expired_points: number;
  operator_funded_points: number;
  issuance_amount: string;
  redemption_amount: string;
  rewards_amount: string;
  net_amount: string;
  entry_count: number;
}

interface Row {
  partner_id: string;
  currency: string;
  billing: "issuance" | "redemption";
  earned: string;
  earn_reversed: string;
  burned: string;
  burn_refunded: string;
  expired: string;
  operator_funded: string;
  issuance_exact: string;
  redemption_exact: string;
  rewards_exact: string;
  postings: string;
}

/**
 * Every partner's figures for [start, until) from the ledger alone. Amounts are summed exactly
 * (numeric) at the prices locked on each posting, then rounded half-even to minor units once.
 * Only postings in the period are read (index on created_at): the cost does not grow with history.
 *
 * issuance billing: partner-funded points earned at the partner (activities count as earns), less
 *   its earn reversals.
 * Transfers between members and referral bonuses move no money: transferred points keep their
 *   lots' lineage (issuer, locked prices), and referral bonuses have no partner (operator-funded).
 * redemption billing: the partner-funded share of its lots spent by burns anywhere in the
 *   period (lot lineage), less refunds of such burns, at the issue price locked on each earn.
 * redemption_amount: points burned at the partner less burn refunds, at its locked redemption price.
 *   Catalogue redemptions (and their refunds) count as redemptions of the issuers' points for
 *   redemption billing, like burns; the partner that made one is paid nothing for it.
 * rewards_amount: what the operator owes the partner as a reward supplier, its locked supplier
 *   price for each unit fulfilled in the period (a voucher used, an item or transfer fulfilled).
 */
export async function computeStatements(db: Executor, periodStart: string, periodEnd: string, until: Date): Promise<StatementFigures[]> {
  const start = `${periodStart}T00:00:00Z`;
  const end = new Date(Math.min(Date.parse(`${periodEnd}T00:00:00Z`), until.getTime())).toISOString();
  // Integer sums grouped by the locked prices first (as cheap as a bare GROUP BY), money on the
  // few resulting groups; lineage from lot moves by time, with the facts they carry.
  const result = (await db.execute(sql`
    with grouped as (
      select partner_id, type, billing, issue_price_micros as ip, redemption_price_micros as rp,
             sum(points) as pts, sum(operator_funded_points) as opf, count(*) as n
        from postings
       where created_at >= ${start}::timestamptz and created_at < ${end}::timestamptz
       group by 1, 2, 3, 4, 5
    ), own as (
      select partner_id,
             coalesce(sum(pts) filter (where type in ('earn', 'activity')), 0) as earned,
             coalesce(sum(pts) filter (where type = 'earn_reversal'), 0) as earn_reversed,
             coalesce(sum(pts) filter (where type = 'burn'), 0) as burned,
             coalesce(sum(pts) filter (where type = 'burn_refund'), 0) as burn_refunded,
             coalesce(sum(pts) filter (where type = 'expiry'), 0) as expired,
             coalesce(sum(opf) filter (where type = 'earn'), 0) as operator_funded,
             (coalesce(sum((pts - opf) * ip) filter (where type in ('earn', 'activity') and billing = 'issuance'), 0)
               - coalesce(sum((pts - opf) * ip) filter (where type = 'earn_reversal' and billing = 'issuance'), 0))::numeric / 1000000 as issuance_direct,
             (coalesce(sum(pts * rp) filter (where type = 'burn'), 0) - coalesce(sum(pts * rp) filter (where type = 'burn_refund'), 0))::numeric / 1000000 as redemption_exact,
             sum(n) filter (where type in ('earn', 'activity', 'earn_reversal', 'burn', 'burn_refund', 'expiry')) as postings
        from grouped where partner_id is not null group by partner_id
    ), lineage as (
      select issuer_id as partner_id, sum(issue_value) as issuance_lineage
        from lot_moves
       where created_at >= ${start}::timestamptz and created_at < ${end}::timestamptz
         and posting_type in ('burn', 'burn_refund', 'redemption', 'redemption_refund') and issuer_billing = 'redemption'
       group by 1
    ), supplied as (
      select supplier_id as partner_id, sum(units * supplier_price) as rewards_exact
        from reward_fulfilments
       where created_at >= ${start}::timestamptz and created_at < ${end}::timestamptz
       group by 1
    ), involved as (
      select id as partner_id from partners where status = 'active'
      union select partner_id from own union select partner_id from lineage union select partner_id from supplied
    )
    select i.partner_id, pa.settlement_currency as currency, pa.billing,
           coalesce(o.earned, 0)::text as earned, coalesce(o.earn_reversed, 0)::text as earn_reversed,
           coalesce(o.burned, 0)::text as burned, coalesce(o.burn_refunded, 0)::text as burn_refunded,
           coalesce(o.expired, 0)::text as expired, coalesce(o.operator_funded, 0)::text as operator_funded,
           (coalesce(o.issuance_direct, 0) + coalesce(l.issuance_lineage, 0))::text as issuance_exact,
           coalesce(o.redemption_exact, 0)::text as redemption_exact,
           coalesce(s.rewards_exact, 0)::text as rewards_exact,
           coalesce(o.postings, 0)::text as postings
      from involved i join partners pa on pa.id = i.partner_id
      left join own o on o.partner_id = i.partner_id
      left join lineage l on l.partner_id = i.partner_id
      left join supplied s on s.partner_id = i.partner_id
     order by i.partner_id`)) as unknown as { rows: Row[] };

  return result.rows.map((r) => {
    const digits = currencyExponent(r.currency);
    const issuance = roundHalfEven(r.issuance_exact, digits);
    const redemption = roundHalfEven(r.redemption_exact, digits);
    const rewardsAmount = roundHalfEven(r.rewards_exact, digits);
    return {
      partner_id: r.partner_id,
      period_start: periodStart,
      period_end: periodEnd,
      currency: r.currency,
      billing: r.billing,
      earned_points: Number(r.earned),
      earn_reversed_points: Number(r.earn_reversed),
      burned_points: Number(r.burned),
      burn_refunded_points: Number(r.burn_refunded),
      expired_points: Number(r.expired),
      operator_funded_points: Number(r.operator_funded),
      issuance_amount: issuance,
      redemption_amount: redemption,
      rewards_amount: rewardsAmount,
      net_amount: subtractDecimals(subtractDecimals(issuance, redemption, digits), rewardsAmount, digits),
      entry_count: Number(r.postings),
    };
  });
}
