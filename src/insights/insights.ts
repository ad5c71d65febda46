/**
 * Retention metrics for one partner (`GET /v1/insights`) or every partner and the coalition
 * (`GET /v1/reports/engagement`), computed from the ledger for [from, to) only: each query reads
 * the period's rows through an index on time (postings, member links, redemptions, activities),
 * never the history before it, so the cost follows the period's activity, not the ledger's age.
 *
 * Definitions (the contract's): active members had a transaction at the partner in the period;
 * new members were first linked to it in the period; repeat members had at least two earns there;
 * cross-partner members are its active members also active at another partner; points issued are
 * its earns' and activities' points (base and bonus, gross); points redeemed are the points burned
 * at it plus those redeemed for rewards it supplies (gross); NPS from its surveys' scores.
 */
import { sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { validationFailed } from "../errors.js";

export interface Nps {
  responses: number;
  promoters: number;
  passives: number;
  detractors: number;
  /** round half-even (100 × (promoters − detractors) ÷ responses); null with no responses. */
  score: number | null;
}

export interface Insights {
  period_start: string;
  period_end: string;
  active_members: number;
  new_members: number;
  repeat_members: number;
  /** repeat ÷ active, 4 decimals ("0.0000" when none). */
  repeat_rate: string;
  cross_partner_members: number;
  points_issued: number;
  points_redeemed: number;
  nps: Nps;
}

/** A member's own doing at a partner: what makes it active there (not expiries, bonuses or releases). */
const ACTIVE_TYPES = sql.raw(["earn", "burn", "earn_reversal", "burn_refund", "activity", "redemption", "redemption_refund", "transfer_out"].map((t) => `'${t}'`).join(","));
const MAX_DAYS = 366;

/** `from` and `to` are dates (`to` exclusive), at most 366 days apart. */
export function checkInsightRange(from: string, to: string): void {
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
  if (!(days > 0)) throw validationFailed([{ path: "to", message: "must be after from (exclusive)" }]);
  if (days > MAX_DAYS) throw validationFailed([{ path: "to", message: `a period covers at most ${MAX_DAYS} days` }]);
}

/** round half-even of 100 × (p − d) ÷ n, in integers. */
export function npsScore(promoters: number, detractors: number, responses: number): number | null {
  if (responses === 0) return null;
  const num = 100 * (promoters - detractors);
  const sign = num < 0 ? -1 : 1;
  const abs = Math.abs(num);
  let q = Math.floor(abs / responses);
  const twice = 2 * (abs - q * responses);
  if (twice > responses || (twice === responses && q % 2 === 1)) q += 1;
  return sign * q;
}

/** repeat ÷ active with 4 decimals, truncated towards the nearest by half-even, from integers only. */
export function rate4(part: number, whole: number): string {
  if (whole === 0) return "0.0000";
  const scaled = part * 10_000;
  let q = Math.floor(scaled / whole);
  const twice = 2 * (scaled - q * whole);
  if (twice > whole || (twice === whole && q % 2 === 1)) q += 1;
  return `${Math.floor(q / 10_000)}.${String(q % 10_000).padStart(4, "0")}`;
}

type Row = Record<string, string | null>;
const rows = async (db: Executor, q: ReturnType<typeof sql>) => ((await db.execute(q)) as unknown as { rows: Row[] }).rows;
const n = (v: string | null | undefined) => Number(v ?? 0);

/**
 * The figures per partner (every partner with anything in the period, or only `partnerId`), and,
 * with `coalition`, the same over the whole coalition under the key "*".
 */
export async function computeInsights(db: Executor, from: string, to: string, options: { partnerId?: string; coalition?: boolean } = {}): Promise<Map<string, Insights>> {
  checkInsightRange(from, to);
  const start = `${from}T00:00:00Z`;
  const end = `${to}T00:00:00Z`;
  // Members active per partner in the period, with their earns there. For one partner only its own
  // members are read (their postings at every partner, for the cross-partner count): its activity
  // in the period bounds the work; the coalition's report reads the period once.
  const scope = options.partnerId
    ? sql`and p.member_id in (select q.member_id from postings q
                               where q.partner_id = ${options.partnerId} and q.created_at >= ${start}::timestamptz and q.created_at < ${end}::timestamptz
                                 and q.type in (${ACTIVE_TYPES}))`
    : sql``;
  const activity = sql`select p.partner_id, p.member_id, count(*) filter (where p.type = 'earn') as earns,
                              coalesce(sum(p.points) filter (where p.type in ('earn', 'activity')), 0) as issued,
                              coalesce(sum(p.points) filter (where p.type = 'burn'), 0) as burned
                         from postings p
                        where p.created_at >= ${start}::timestamptz and p.created_at < ${end}::timestamptz
                          and p.partner_id is not null and p.type in (${ACTIVE_TYPES}) ${scope}
                        group by 1, 2`;
  const perPartner = await rows(
    db,
    sql`with a as (${activity}),
             multi as (select member_id from a group by 1 having count(*) > 1)
        select a.partner_id,
               count(*)::text as active,
               count(*) filter (where a.earns >= 2)::text as repeat,
               count(*) filter (where a.member_id in (select member_id from multi))::text as cross,
               sum(a.issued)::text as issued,
               sum(a.burned)::text as burned
          from a where true ${options.partnerId ? sql`and a.partner_id = ${options.partnerId}` : sql``}
         group by 1`,
  );
  const coalition = options.coalition
    ? await rows(
        db,
        sql`with a as (${activity}),
                 m as (select member_id, sum(earns) as earns, count(*) as partners from a group by 1)
            select count(*)::text as active, count(*) filter (where earns >= 2)::text as repeat,
                   count(*) filter (where partners > 1)::text as cross,
                   (select coalesce(sum(issued), 0) from a)::text as issued, (select coalesce(sum(burned), 0) from a)::text as burned
              from m`,
      )
    : [];
  // First linked in the period: a link made in it, with none of that member to that partner before.
  const linked = await rows(
    db,
    sql`select l.partner_id, count(distinct l.member_id)::text as new
          from member_links l
         where l.created_at >= ${start}::timestamptz and l.created_at < ${end}::timestamptz
           ${options.partnerId ? sql`and l.partner_id = ${options.partnerId}` : sql``}
           and not exists (select 1 from member_links e where e.partner_id = l.partner_id and e.member_id = l.member_id and e.created_at < ${start}::timestamptz)
         group by 1`,
  );
  const coalitionNew = options.coalition
    ? await rows(
        db,
        sql`select count(*)::text as new from members m where m.created_at >= ${start}::timestamptz and m.created_at < ${end}::timestamptz`,
      )
    : [];
  const supplied = await rows(
    db,
    sql`select r.supplier_id as partner_id, coalesce(sum(r.points), 0)::text as redeemed
          from redemptions r
         where r.created_at >= ${start}::timestamptz and r.created_at < ${end}::timestamptz
           ${options.partnerId ? sql`and r.supplier_id = ${options.partnerId}` : sql``}
         group by 1`,
  );
  const surveys = await rows(
    db,
    sql`select a.partner_id, count(*)::text as responses,
               count(*) filter (where a.score >= 9)::text as promoters,
               count(*) filter (where a.score between 7 and 8)::text as passives,
               count(*) filter (where a.score <= 6)::text as detractors
          from activity_postings a
         where a.created_at >= ${start}::timestamptz and a.created_at < ${end}::timestamptz
           and a.activity = 'survey' and a.score is not null
           ${options.partnerId ? sql`and a.partner_id = ${options.partnerId}` : sql``}
         group by 1`,
  );

  const ids = new Set<string>([...perPartner, ...linked, ...supplied, ...surveys].map((r) => r.partner_id!));
  if (options.partnerId) ids.add(options.partnerId);
  const by = (list: Row[], id: string) => list.find((r) => r.partner_id === id);
  const build = (a: Row | undefined, newMembers: number, redeemedRewards: number, s: Row | undefined): Insights => {
    const active = n(a?.active);
    const repeat = n(a?.repeat);
    const responses = n(s?.responses);
    const promoters = n(s?.promoters);
    const detractors = n(s?.detractors);
    return {
      period_start: from,
      period_end: to,
      active_members: active,
      new_members: newMembers,
      repeat_members: repeat,
      repeat_rate: rate4(repeat, active),
      cross_partner_members: n(a?.cross),
      points_issued: n(a?.issued),
      points_redeemed: n(a?.burned) + redeemedRewards,
      nps: { responses, promoters, passives: n(s?.passives), detractors, score: npsScore(promoters, detractors, responses) },
    };
  };
  const out = new Map<string, Insights>();
  for (const id of [...ids].sort()) out.set(id, build(by(perPartner, id), n(by(linked, id)?.new), n(by(supplied, id)?.redeemed), by(surveys, id)));
  if (options.coalition) {
    const sum = (list: Row[], key: string) => list.reduce((t, r) => t + n(r[key]), 0);
    const all: Row = { responses: String(sum(surveys, "responses")), promoters: String(sum(surveys, "promoters")), passives: String(sum(surveys, "passives")), detractors: String(sum(surveys, "detractors")) };
    out.set("*", build(coalition[0], n(coalitionNew[0]?.new), sum(supplied, "redeemed"), all));
  }
  return out;
}
