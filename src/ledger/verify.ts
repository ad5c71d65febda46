import { sqlExpr } from "./sql.js";
import { sql, type SQL } from "drizzle-orm";
import type { Executor } from "../db/database.js";

export interface Breach {
  invariant: string;
  rows: unknown[];
}

const MEMBER_ACCOUNT = sql`split_part(account, ':', 2)`;

/** Each invariant is a query that returns the rows breaking it (at most 20 shown). */
const INVARIANTS: [name: string, query: SQL][] = [
  ["every posting's entries sum to zero", sql`select posting_id, sum(amount)::text as total from entries group by posting_id having sum(amount) <> 0`],
  ["every posting has entries", sql`select p.id, p.type from postings p where not exists (select 1 from entries e where e.posting_id = p.id)`],
  ["no entry without its posting", sql`select e.posting_id from entries e left join postings p on p.id = e.posting_id where p.id is null`],
  [
    "member balances equal the sum of their entries",
    sql`with sums as (
          select ${MEMBER_ACCOUNT} as member_id,
                 sum(amount) filter (where account like '%:available') as available,
                 sum(amount) filter (where account like '%:pending') as pending,
                 sum(amount) filter (where account like '%:held') as held
            from entries where account like 'member:%' group by 1)
        select m.id, m.available, m.pending, m.held, s.available::text as e_available, s.pending::text as e_pending, s.held::text as e_held
          from members m left join sums s on s.member_id = m.id
         where m.available <> coalesce(s.available, 0) or m.pending <> coalesce(s.pending, 0) or m.held <> coalesce(s.held, 0)`,
  ],
  [
    "released lots add up to max(available + held, 0), unreleased lots to pending",
    sql`select m.id, m.available, m.pending, m.held,
               coalesce(sum(l.remaining) filter (where l.released), 0)::text as released_lots,
               coalesce(sum(l.remaining) filter (where not l.released), 0)::text as pending_lots
          from members m left join lots l on l.member_id = m.id
         group by m.id
        having coalesce(sum(l.remaining) filter (where l.released), 0) <> greatest(m.available + m.held, 0)
            or coalesce(sum(l.remaining) filter (where not l.released), 0) <> m.pending`,
  ],
  [
    "each lot's remaining equals its points plus its moves",
    sql`select l.id, l.points, l.remaining, coalesce(sum(mv.points), 0)::text as moved
          from lots l left join lot_moves mv on mv.lot_id = l.id
         group by l.id having l.remaining <> l.points + coalesce(sum(mv.points), 0)`,
  ],
  [
    "held equals the points of authorized holds",
    sql`select m.id, m.held, coalesce(sum(h.points) filter (where h.status = 'authorized'), 0)::text as holds
          from members m left join holds h on h.member_id = m.id
         group by m.id having m.held <> coalesce(sum(h.points) filter (where h.status = 'authorized'), 0)`,
  ],
  [
    "a negative balance only ever comes from an earn reversal",
    sql`select m.id, m.available from members m
         where m.available < 0 and not exists (select 1 from postings p where p.member_id = m.id and p.type = 'earn_reversal')`,
  ],
  [
    "reversals never exceed their original",
    sql`select o.id, o.points, sum(r.points)::text as reversed from postings o join postings r on r.original_id = o.id
         where r.type in ('earn_reversal', 'burn_refund') group by o.id, o.points having sum(r.points) > o.points`,
  ],
  [
    "every ledger account sums to zero across the ledger",
    sql`select sum(amount)::text as total from entries having sum(amount) <> 0`,
  ],
  [
    "monthly earn sums (the tier window's) equal their postings",
    sql`with expected as (
          select p.member_id, ${sqlExpr.month(sql`coalesce(o.created_at, p.created_at)`)} as month,
                 sum(case when p.type = 'earn' then p.points else -p.points end) as points
            from postings p left join postings o on p.type = 'earn_reversal' and o.id = p.original_id
           where p.type in ('earn', 'earn_reversal') group by 1, 2)
        select coalesce(e.member_id, s.member_id) as member_id, coalesce(e.month, s.month)::text as month,
               e.points::text as expected, s.points::text as stored
          from expected e full join member_earn_months s on s.member_id = e.member_id and s.month = e.month
         where e.points is distinct from s.points and coalesce(e.points, 0) <> coalesce(s.points, 0)`,
  ],
  ["every idempotency record has its answer", sql`select scope, key from idempotency_keys where status_code is null and outcome is null`],
  ["reward stock never below zero", sql`select id, stock from rewards where stock < 0`],
  [
    "every redemption has its posting, for its points, and a refund exactly when cancelled or rejected",
    sql`select r.id, r.status, r.points, p.points as posted, rf.points as refunded
          from redemptions r
          left join postings p on p.id = r.posting_id and p.type = 'redemption'
          left join postings rf on rf.id = r.refund_posting_id and rf.type = 'redemption_refund' and rf.original_id = r.posting_id
         where p.id is null or p.points <> r.points
            or (r.status in ('cancelled', 'rejected')) <> (rf.id is not null)
            or (rf.id is not null and rf.points <> r.points)`,
  ],
  [
    "every redemption posting and refund belongs to a redemption",
    sql`select p.id, p.type from postings p
         where p.type in ('redemption', 'redemption_refund')
           and not exists (select 1 from redemptions r where r.posting_id = p.id or r.refund_posting_id = p.id)`,
  ],
  [
    "voucher states agree with their redemption and with what suppliers are owed",
    sql`select r.id, r.status, r.quantity, count(v.code) as vouchers,
               count(v.code) filter (where v.status = 'used') as used,
               count(v.code) filter (where v.status = 'cancelled') as cancelled,
               (select count(*) from reward_fulfilments f where f.redemption_id = r.id) as fulfilments
          from redemptions r left join vouchers v on v.redemption_id = r.id
         where r.kind = 'voucher'
         group by r.id
        having count(v.code) <> r.quantity
            or count(v.code) filter (where v.status = 'used') <> (select count(*) from reward_fulfilments f where f.redemption_id = r.id)
            or (r.status = 'cancelled') <> (count(v.code) filter (where v.status = 'cancelled') = r.quantity)
            or r.status not in ('issued', 'cancelled')`,
  ],
  [
    "an item or transfer is owed to its supplier exactly when fulfilled, once, for its quantity",
    sql`select r.id, r.status, r.quantity, coalesce(sum(f.units), 0) as units, count(f.id) as fulfilments
          from redemptions r left join reward_fulfilments f on f.redemption_id = r.id
         where r.kind <> 'voucher'
         group by r.id
        having (r.status = 'fulfilled') <> (count(f.id) = 1) or count(f.id) > 1
            or (r.status = 'fulfilled' and coalesce(sum(f.units), 0) <> r.quantity)`,
  ],
  [
    "every lot carries the issuer of the posting its points come from",
    sql`select l.id, l.origin_id, l.partner_id, e.partner_id as origin_partner
          from lots l left join postings e on e.id = l.origin_id
         where e.id is null or e.type not in ('earn', 'activity', 'referral_bonus') or l.partner_id is distinct from e.partner_id`,
  ],
  [
    "every transfer is one transfer_out of the sender and one transfer_in of the recipient, for its points",
    sql`select t.id, t.points, o.points as out_points, i.points as in_points
          from transfers t
          left join postings o on o.id = t.out_posting_id and o.type = 'transfer_out' and o.member_id = t.sender_id and o.partner_id = t.partner_id
          left join postings i on i.id = t.in_posting_id and i.type = 'transfer_in' and i.member_id = t.recipient_id
                              and i.partner_id is null and i.original_id = t.out_posting_id
         where o.id is null or i.id is null or o.points <> t.points or i.points <> t.points`,
  ],
  [
    "every transfer posting belongs to a transfer",
    sql`select p.id, p.type from postings p
         where p.type in ('transfer_out', 'transfer_in')
           and not exists (select 1 from transfers t where t.out_posting_id = p.id or t.in_posting_id = p.id)`,
  ],
  [
    "the points a transfer took from the sender's lots arrived as the recipient's lots, lineage kept",
    sql`with taken as (
          select t.id, l.origin_id, sum(-mv.points) as points
            from transfers t join lot_moves mv on mv.posting_id = t.out_posting_id join lots l on l.id = mv.lot_id
           group by 1, 2),
        arrived as (
          select t.id, l.origin_id, sum(l.points) as points
            from transfers t join lots l on left(l.id, length(t.in_posting_id) + 1) = t.in_posting_id || '.'
           group by 1, 2)
        select coalesce(a.id, b.id) as transfer_id, coalesce(a.origin_id, b.origin_id) as origin_id,
               a.points::text as taken, b.points::text as arrived
          from taken a full join arrived b on b.id = a.id and b.origin_id = a.origin_id
         where a.points is distinct from b.points`,
  ],
  [
    "referral bonuses are exactly the ones the referrals record, once per side, for the locked bonus",
    sql`with recorded as (
          select referred_posting_id as id, referred_id as member_id, bonus_points from referrals where referred_posting_id is not null
          union all
          select referrer_posting_id, referrer_id, bonus_points from referrals where referrer_posting_id is not null)
        select coalesce(p.id, r.id) as posting_id, p.member_id, r.member_id as recorded_member, p.points, r.bonus_points
          from (select * from postings where type = 'referral_bonus') p
          full join recorded r on r.id = p.id
         where p.id is null or r.id is null or p.member_id <> r.member_id or p.points <> r.bonus_points or p.partner_id is not null`,
  ],
  [
    "a referral pays its referred member once it qualified, and its referrer only then",
    sql`select referred_id, qualified_at, referred_posting_id, referrer_outcome, referrer_posting_id from referrals
         where (qualified_at is null) <> (referred_posting_id is null)
            or (referrer_outcome is not null and qualified_at is null)
            or (referrer_outcome = 'paid') <> (referrer_posting_id is not null)`,
  ],
  [
    "no referrer is paid more bonuses than its cap in any 12 months",
    sql`select r.referrer_id, r.referred_id, r.referrer_cap,
               (select count(*) from referrals o where o.referrer_id = r.referrer_id and o.referrer_outcome = 'paid'
                   and o.referrer_decided_at > r.referrer_decided_at - interval '12 months' and o.referrer_decided_at <= r.referrer_decided_at) as paid
          from referrals r
         where r.referrer_outcome = 'paid'
           and (select count(*) from referrals o where o.referrer_id = r.referrer_id and o.referrer_outcome = 'paid'
                   and o.referrer_decided_at > r.referrer_decided_at - interval '12 months' and o.referrer_decided_at <= r.referrer_decided_at) > r.referrer_cap`,
  ],
  [
    "every activity posting has its activity record, and every record its posting",
    sql`select coalesce(p.id, a.posting_id) as id, p.points, a.activity
          from (select * from postings where type = 'activity') p
          full join activity_postings a on a.posting_id = p.id
         where p.id is null or a.posting_id is null or p.member_id <> a.member_id or p.partner_id <> a.partner_id`,
  ],
];

/** Checks every ledger invariant; an empty list means the ledger is sound. */
export async function verifyLedger(db: Executor): Promise<Breach[]> {
  const breaches: Breach[] = [];
  for (const [invariant, query] of INVARIANTS) {
    const result = (await db.execute(sql`select * from (${query}) breach limit 20`)) as unknown as { rows: unknown[] };
    if (result.rows.length > 0) breaches.push({ invariant, rows: result.rows });
  }
  return breaches;
}

export const INVARIANT_NAMES = INVARIANTS.map(([name]) => name);
