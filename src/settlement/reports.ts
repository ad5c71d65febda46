import { sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { validationFailed } from "../errors.js";
import { computeStatements } from "./compute.js";
import { toCsv } from "../lib/csv.js";

const rows = async <T>(db: Executor, q: ReturnType<typeof sql>) => ((await db.execute(q)) as unknown as { rows: T[] }).rows;

export interface LiabilityMonth {
  month: string;
  points: { opening: number; issued: number; redeemed: number; reversed: number; expired: number; closing: number };
  /** Per settlement currency, at the issue price locked on each earn (exact decimals). */
  value: Record<string, { opening: string; issued: string; redeemed: string; reversed: string; expired: string; closing: string }>;
}

export interface LiabilityReport {
  from: string;
  to: string;
  months: LiabilityMonth[];
  /** Points expired over points issued in the range, as a decimal fraction. */
  breakage_rate: string;
}

function months(from: string, to: string): string[] {
  const out: string[] = [];
  const d = new Date(`${from.slice(0, 7)}-01T00:00:00Z`);
  const end = new Date(`${to}T00:00:00Z`);
  while (d < end && out.length < 121) {
    out.push(d.toISOString().slice(0, 10));
    d.setUTCMonth(d.getUTCMonth() + 1);
  }
  if (out.length > 120) throw validationFailed([{ path: "to", message: "a report covers at most 120 months" }]);
  return out;
}

export function checkRange(from: string, to: string) {
  if (!(Date.parse(to) > Date.parse(from))) throw validationFailed([{ path: "to", message: "must be after from (exclusive)" }]);
}

const negate = (v: string) => (v.startsWith("-") ? v.slice(1) : `-${v}`);
function sumDecimals(values: string[]): string {
  const SCALE = 12;
  let total = 0n;
  for (const v of values) {
    const neg = v.startsWith("-");
    const [w, f = ""] = v.replace("-", "").split(".");
    const n = BigInt(w! + f.padEnd(SCALE, "0").slice(0, SCALE));
    total += neg ? -n : n;
  }
  const neg = total < 0n;
  const s = (neg ? -total : total).toString().padStart(SCALE + 1, "0");
  const text = `${s.slice(0, -SCALE)}.${s.slice(-SCALE)}`.replace(/\.?0+$/, "");
  return (neg ? "-" : "") + (text || "0");
}

/**
 * The liability roll-forward by month: points members hold (available, pending and held) at the
 * start of each month, what was issued, redeemed (net of refunds), reversed and expired, and the
 * close; in points and, per settlement currency, in value at the locked issue prices.
 */
export async function liabilityReport(db: Executor, from: string, to: string): Promise<LiabilityReport> {
  checkRange(from, to);
  const starts = months(from, to);
  const flows = await rows<{ month: string; currency: string | null; kind: string; points: string; value: string }>(
    db,
    sql`with flows as (
          select date_trunc('month', p.created_at at time zone 'UTC')::date as month, p.settlement_currency as currency, 'issued' as kind,
                 p.points as points, coalesce(p.points * p.issue_price_per_point, 0) as value
            from postings p where p.type in ('earn', 'activity', 'referral_bonus')
          union all
          select date_trunc('month', p.created_at at time zone 'UTC')::date, p.settlement_currency, 'reversed', p.points, p.points * p.issue_price_per_point
            from postings p where p.type = 'earn_reversal'
          union all
          select date_trunc('month', p.created_at at time zone 'UTC')::date, e.settlement_currency,
                 case when p.type = 'expiry' then 'expired' else 'redeemed' end,
                 -mv.points, coalesce(-mv.points * e.issue_price_per_point, 0)
            from postings p join lot_moves mv on mv.posting_id = p.id
            join lots l on l.id = mv.lot_id join postings e on e.id = l.origin_id
           where p.type in ('burn', 'burn_refund', 'redemption', 'redemption_refund', 'expiry')
        )
        select to_char(month, 'YYYY-MM-DD') as month, currency, kind, sum(points)::text as points, sum(value)::text as value
          from flows where month < ${to}::date group by 1, 2, 3`,
  );
  const report: LiabilityMonth[] = [];
  const runningPoints = { value: 0 };
  const runningValue: Record<string, string> = {};
  const before = flows.filter((f) => f.month < starts[0]!);
  const sign = (kind: string) => (kind === "issued" ? 1 : -1);
  for (const f of before) {
    runningPoints.value += sign(f.kind) * Number(f.points);
    // Points the operator issued (referral bonuses) have no issue price: counted in points, not in value.
    if (f.currency === null) continue;
    runningValue[f.currency] = sumDecimals([runningValue[f.currency] ?? "0", sign(f.kind) === 1 ? f.value : negate(f.value)]);
  }
  for (const month of starts) {
    const inMonth = flows.filter((f) => f.month === month);
    const pts = (kind: string) => inMonth.filter((f) => f.kind === kind).reduce((s, f) => s + Number(f.points), 0);
    const opening = runningPoints.value;
    const points = { opening, issued: pts("issued"), redeemed: pts("redeemed"), reversed: pts("reversed"), expired: pts("expired"), closing: 0 };
    points.closing = opening + points.issued - points.redeemed - points.reversed - points.expired;
    runningPoints.value = points.closing;
    const value: LiabilityMonth["value"] = {};
    const currencies = new Set([...Object.keys(runningValue), ...inMonth.flatMap((f) => (f.currency === null ? [] : [f.currency]))]);
    for (const cur of currencies) {
      const v = (kind: string) => sumDecimals(inMonth.filter((f) => f.kind === kind && f.currency === cur).map((f) => f.value));
      const open = runningValue[cur] ?? "0";
      const row = { opening: open, issued: v("issued"), redeemed: v("redeemed"), reversed: v("reversed"), expired: v("expired"), closing: "0" };
      row.closing = sumDecimals([row.opening, row.issued, negate(row.redeemed), negate(row.reversed), negate(row.expired)]);
      runningValue[cur] = row.closing;
      value[cur] = row;
    }
    report.push({ month: month.slice(0, 7), points, value });
  }
  const issued = report.reduce((s, m) => s + m.points.issued, 0);
  const expired = report.reduce((s, m) => s + m.points.expired, 0);
  const rate = issued === 0 ? "0" : (Number((BigInt(expired) * 1_000_000n) / BigInt(issued)) / 1_000_000).toFixed(6);
  return { from, to, months: report, breakage_rate: rate };
}

export interface FlowsReport {
  from: string;
  to: string;
  /** Points earned at each partner and burned at each partner in the range. */
  partners: { partner_id: string; earned_points: number; burned_points: number }[];
  /** Points issued by `earned_at` (null: by the operator, referral bonuses) and redeemed at `burned_at` (net of refunds), by lot lineage. */
  matrix: { earned_at: string | null; burned_at: string; points: number }[];
  /** The catalogue by supplier: points redeemed for its rewards (net of refunds), units fulfilled and what the operator owes it. */
  rewards: { supplier_id: string; redeemed_points: number; fulfilled_units: number; owed_amount: string; currency: string | null }[];
}

export async function flowsReport(db: Executor, from: string, to: string): Promise<FlowsReport> {
  checkRange(from, to);
  const range = sql`p.created_at >= ${from}::timestamptz and p.created_at < ${to}::timestamptz`;
  const totals = await rows<{ partner_id: string; earned: string; burned: string }>(
    db,
    sql`select p.partner_id,
               coalesce(sum(p.points) filter (where p.type in ('earn', 'activity')), 0)::text as earned,
               (coalesce(sum(p.points) filter (where p.type = 'burn'), 0) - coalesce(sum(p.points) filter (where p.type = 'burn_refund'), 0))::text as burned
          from postings p where ${range} and p.type in ('earn', 'activity', 'burn', 'burn_refund') group by 1 order by 1`,
  );
  const matrix = await rows<{ earned_at: string | null; burned_at: string; points: string }>(
    db,
    sql`select l.partner_id as earned_at, p.partner_id as burned_at, sum(-mv.points)::text as points
          from postings p join lot_moves mv on mv.posting_id = p.id join lots l on l.id = mv.lot_id
         where ${range} and p.type in ('burn', 'burn_refund')
         group by 1, 2 having sum(-mv.points) <> 0 order by 1 nulls last, 2`,
  );
  const rewards = await rows<{ supplier_id: string; redeemed: string; units: string; owed: string; currency: string | null }>(
    db,
    sql`with redeemed as (
          select r.supplier_id, sum(case p.type when 'redemption' then p.points else -p.points end) as redeemed
            from postings p join redemptions r on r.posting_id = p.id or r.refund_posting_id = p.id
           where ${range} and p.type in ('redemption', 'redemption_refund') group by 1
        ), fulfilled as (
          select supplier_id, sum(units) as units, sum(units * supplier_price) as owed, min(currency) as currency
            from reward_fulfilments p where ${range} group by 1
        )
        select coalesce(r.supplier_id, f.supplier_id) as supplier_id, coalesce(r.redeemed, 0)::text as redeemed,
               coalesce(f.units, 0)::text as units, coalesce(f.owed, 0)::text as owed, f.currency
          from redeemed r full join fulfilled f on f.supplier_id = r.supplier_id order by 1`,
  );
  return {
    from,
    to,
    rewards: rewards.map((r) => ({
      supplier_id: r.supplier_id,
      redeemed_points: Number(r.redeemed),
      fulfilled_units: Number(r.units),
      owed_amount: sumDecimals([r.owed]),
      currency: r.currency,
    })),
    partners: totals.map((t) => ({ partner_id: t.partner_id, earned_points: Number(t.earned), burned_points: Number(t.burned) })),
    matrix: matrix.map((m) => ({ earned_at: m.earned_at, burned_at: m.burned_at, points: Number(m.points) })),
  };
}

export interface PartnerPositions {
  as_of: string;
  /** Postings after the end of the latest final settlement period are unsettled (null: nothing is settled yet). */
  unsettled_since: string | null;
  partners: {
    partner_id: string;
    currency: string;
    prepaid_points: number | null;
    credit_limit: string | null;
    unsettled_net_amount: string;
  }[];
}

/** Prepaid balances and what each partner owes or is owed since the last final settlement. */
export async function partnerPositions(db: Executor, now: Date): Promise<PartnerPositions> {
  const [last] = await rows<{ end: string | null }>(db, sql`select to_char(max(period_end), 'YYYY-MM-DD') as end from settlement_runs where status = 'final'`);
  const since = last?.end ?? null;
  const figures = await computeStatements(db, since ?? "2000-01-01", "9999-12-31", now);
  const partners = await rows<{ id: string; currency: string; prepaid_points: string | null; credit_limit: string | null }>(
    db,
    sql`select id, settlement_currency as currency, prepaid_points::text, credit_limit::text from partners order by id`,
  );
  const net = new Map(figures.map((f) => [f.partner_id, f.net_amount]));
  return {
    as_of: now.toISOString(),
    unsettled_since: since,
    partners: partners.map((p) => ({
      partner_id: p.id,
      currency: p.currency,
      prepaid_points: p.prepaid_points === null ? null : Number(p.prepaid_points),
      credit_limit: p.credit_limit === null ? null : p.credit_limit.replace(/\.?0+$/, ""),
      unsettled_net_amount: net.get(p.id) ?? "0.00",
    })),
  };
}

/** The liability roll-forward as CSV: a row per month and settlement currency (points on every row, value in its currency). */
export function liabilityCsv(report: LiabilityReport): string {
  const rows: unknown[][] = [];
  for (const m of report.months) {
    const currencies = Object.keys(m.value).sort();
    for (const cur of currencies.length ? currencies : [""]) {
      const v = m.value[cur];
      rows.push([m.month, m.points.opening, m.points.issued, m.points.redeemed, m.points.reversed, m.points.expired, m.points.closing, cur, v?.opening ?? "", v?.issued ?? "", v?.redeemed ?? "", v?.reversed ?? "", v?.expired ?? "", v?.closing ?? ""]);
    }
  }
  return toCsv(
    ["month", "opening_points", "issued_points", "redeemed_points", "reversed_points", "expired_points", "closing_points", "currency", "opening_value", "issued_value", "redeemed_value", "reversed_value", "expired_value", "closing_value"],
    rows,
  );
}

/** The flow matrix as CSV: points issued at one partner and redeemed at another (issuer empty: the operator's referral bonuses). */
export function flowsCsv(report: FlowsReport): string {
  return toCsv(["from", "to", "earned_at", "burned_at", "points"], report.matrix.map((m) => [report.from, report.to, m.earned_at ?? "", m.burned_at, m.points]));
}
