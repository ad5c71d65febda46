import { earnedSinceSql, settleMemberSql, sqlExpr } from "./sql.js";
import { sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { DomainError, validationFailed } from "../errors.js";
import { TIER_WINDOW_MONTHS } from "./tiers.js";

export const PUBLIC_TYPES = [
  "earn",
  "burn",
  "earn_reversal",
  "burn_refund",
  "expiry",
  "adjustment",
  "activity",
  "redemption",
  "redemption_refund",
  "transfer_out",
  "transfer_in",
  "referral_bonus",
] as const;
const publicTypes = sql.raw(PUBLIC_TYPES.map((t) => `'${t}'`).join(","));

export interface Transaction {
  transaction_id: string;
  type: (typeof PUBLIC_TYPES)[number];
  partner_id: string | null;
  member_id: string;
  points: number;
  reference: string | null;
  status: "posted" | "pending";
  created_at: string;
  available_at?: string;
  original_transaction_id?: string;
}

type Row = { r: Transaction };
const rows = async <T>(db: Executor, q: ReturnType<typeof sql>) => ((await db.execute(q)) as unknown as { rows: T[] }).rows;

/** Points earned by the member over the tier window (earns less earn reversals). */
export async function earnedLast12Months(db: Executor, memberId: string, now = new Date()): Promise<number> {
  const since = new Date(now);
  since.setUTCMonth(since.getUTCMonth() - TIER_WINDOW_MONTHS);
  return earnedSinceSql(db, memberId, since);
}

/** Releases the member's due pending points and ends its lapsed holds, so a read is current. */
export async function settleMember(db: Executor, memberId: string, now: Date, idPrefix: string): Promise<void> {
  await settleMemberSql(db, memberId, now, idPrefix);
}

/**
 * What a partner sees of the ledger: its own postings, and the postings no partner made
 * (transfer_in, referral_bonus) of members linked to it now. Of its own, an expiry of points it
 * issued is shown only for a member that was ever linked to it: points it issued may have moved
 * to a stranger in a transfer, and that stranger's existence is not the issuer's to see.
 */
const ownPostings = (partnerId: string) => sql`p.partner_id = ${partnerId} and p.type in (${publicTypes})
  and (p.type <> 'expiry' or exists (select 1 from member_links el where el.partner_id = ${partnerId} and el.member_id = p.member_id))`;
const linkedMembersPostings = (partnerId: string) => sql`p.partner_id is null and p.type in (${publicTypes})
  and exists (select 1 from member_links l where l.partner_id = ${partnerId} and l.member_id = p.member_id and l.unlinked_at is null)`;

/** One transaction the caller may see (as it lists them). Anyone else's is "not found", exactly like a missing one. */
export async function getTransaction(db: Executor, partnerId: string, id: string, now: Date): Promise<Transaction> {
  if (!/^txn_[0-9a-z]{26}$/.test(id)) throw new DomainError("not_found", "No such transaction.");
  const [row] = await rows<Row>(
    db,
    sql`select ${sqlExpr.transactionJson(sql`p`, now)} as r from postings p
        where p.id = ${id} and ((${ownPostings(partnerId)}) or (${linkedMembersPostings(partnerId)}))`,
  );
  if (!row) throw new DomainError("not_found", "No such transaction.");
  return row.r;
}

export function encodeCursor(createdAt: string, id: string): string {
  return btoa(JSON.stringify([createdAt, id])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodeCursor(cursor: string, idPattern = /^txn_[0-9a-z]{26}$/): [string, string] {
  try {
    const parsed = JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/"))) as unknown;
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === "string" && !Number.isNaN(Date.parse(parsed[0])) && idPattern.test(String(parsed[1])))
      return [parsed[0], parsed[1] as string];
  } catch {
    // fall through
  }
  throw validationFailed([{ path: "cursor", message: "is not a cursor this API returned" }]);
}

/** The caller's transactions, newest first, optionally for one member, keyset-paginated. */
export async function listTransactions(
  db: Executor,
  partnerId: string,
  options: { memberId?: string; limit: number; cursor?: string },
  now: Date,
): Promise<{ data: Transaction[]; next_cursor: string | null }> {
  const after = options.cursor ? decodeCursor(options.cursor) : undefined;
  const where = sql`${options.memberId ? sql`and p.member_id = ${options.memberId}` : sql``}
          ${after ? sql`and (p.created_at, p.id) < (${after[0]}::timestamptz, ${after[1]})` : sql``}`;
  // Two keyset scans, each on its own index (by partner; postings no partner made), merged.
  const found = await rows<Row & { created_at: string; id: string }>(
    db,
    sql`select ${sqlExpr.transactionJson(sql`p`, now)} as r, ${sqlExpr.apiTimestamp(sql`p.created_at`)} as created_at, p.id
        from (
          (select p.* from postings p where ${ownPostings(partnerId)} ${where} order by p.created_at desc, p.id desc limit ${options.limit + 1})
          union all
          (select p.* from postings p where ${linkedMembersPostings(partnerId)} ${where} order by p.created_at desc, p.id desc limit ${options.limit + 1})
        ) p
        order by p.created_at desc, p.id desc
        limit ${options.limit + 1}`,
  );
  const page = found.slice(0, options.limit);
  const last = page.at(-1);
  return { data: page.map((r) => r.r), next_cursor: found.length > options.limit && last ? encodeCursor(last.created_at, last.id) : null };
}

export interface HistoryItem {
  transaction_id: string;
  created_at: string;
  partner_name: string;
  label: string;
  /** The brand's reference for it (its order, booking, review…), as the brand sent it. */
  reference: string | null;
  signed_points: number;
  status: "posted" | "pending" | "held";
  available_at?: string;
  /** For a hold: when it lapses unless the brand captures or voids it first. */
  expires_at?: string;
}

const LABELS: Record<string, [label: string, sign: 1 | -1]> = {
  earn: ["Earned", 1],
  burn: ["Spent", -1],
  earn_reversal: ["Earning reversed", -1],
  burn_refund: ["Refund", 1],
  expiry: ["Expired", -1],
  adjustment: ["Adjustment", 1],
  activity: ["Earned for an activity", 1],
  redemption: ["Redeemed for a reward", -1],
  redemption_refund: ["Reward refunded", 1],
  transfer_out: ["Sent to another member", -1],
  transfer_in: ["Received from another member", 1],
  referral_bonus: ["Referral bonus", 1],
};

/** What the portal's history filter offers, and the transaction types each shows. */
export const HISTORY_KINDS = {
  earned: ["earn", "activity", "referral_bonus"],
  spent: ["burn", "burn_refund", "earn_reversal"],
  rewards: ["redemption", "redemption_refund"],
  transfers: ["transfer_out", "transfer_in"],
  expired: ["expiry", "adjustment"],
} as const;
export type HistoryKind = keyof typeof HISTORY_KINDS;

export interface HistoryPage {
  items: HistoryItem[];
  /** Active holds (first page only): reserved points, not yet spent or released. */
  holds: HistoryItem[];
  next_cursor: string | null;
}

/**
 * The member's own history across every brand, newest first, keyset-paginated (for the portal),
 * optionally of one brand (`partnerId`; "coalesce" for what no brand posted) and one kind. The
 * first page also lists the member's active holds.
 */
export async function memberHistory(
  db: Executor,
  memberId: string,
  options: { limit: number; cursor?: string; partnerId?: string; kind?: HistoryKind },
  now = new Date(),
): Promise<HistoryPage> {
  const after = options.cursor ? decodeCursor(options.cursor) : undefined;
  const types = options.kind ? sql.raw(HISTORY_KINDS[options.kind].map((t) => `'${t}'`).join(",")) : publicTypes;
  const brand = options.partnerId === undefined ? sql`` : options.partnerId === "coalesce" ? sql`and p.partner_id is null` : sql`and p.partner_id = ${options.partnerId}`;
  const found = await rows<{ r: Transaction; partner_name: string | null; created_at: string; id: string }>(
    db,
    sql`select ${sqlExpr.transactionJson(sql`p`, now)} as r, pa.name as partner_name, ${sqlExpr.apiTimestamp(sql`p.created_at`)} as created_at, p.id
        from postings p left join partners pa on pa.id = p.partner_id
        where p.member_id = ${memberId} and p.type in (${types}) ${brand}
          ${after ? sql`and (p.created_at, p.id) < (${after[0]}::timestamptz, ${after[1]})` : sql``}
        order by p.created_at desc, p.id desc limit ${options.limit + 1}`,
  );
  const page = found.slice(0, options.limit);
  const last = page.at(-1);
  const items = page.map(({ r, partner_name }): HistoryItem => {
    const [label, sign] = LABELS[r.type] ?? [r.type, 1];
    return {
      transaction_id: r.transaction_id,
      created_at: r.created_at,
      partner_name: partner_name ?? "Coalesce",
      label,
      reference: r.reference,
      signed_points: sign * r.points,
      status: r.status,
      ...(r.available_at ? { available_at: r.available_at } : {}),
    };
  });
  const showHolds = !after && (options.kind === undefined || options.kind === "spent") && options.partnerId !== "coalesce";
  const holds = showHolds
    ? (
        await rows<{ id: string; created_at: string; expires_at: string; points: string; reference: string; partner_name: string | null }>(
          db,
          sql`select h.id, ${sqlExpr.apiTimestamp(sql`h.created_at`)} as created_at, ${sqlExpr.apiTimestamp(sql`h.expires_at`)} as expires_at,
                     h.points::text, h.reference, pa.name as partner_name
                from holds h left join partners pa on pa.id = h.partner_id
               where h.member_id = ${memberId} and h.status = 'authorized' and h.expires_at > ${now.toISOString()}::timestamptz
                 ${options.partnerId ? sql`and h.partner_id = ${options.partnerId}` : sql``}
               order by h.created_at desc limit 20`,
        )
      ).map((h): HistoryItem => ({
        transaction_id: h.id,
        created_at: h.created_at,
        partner_name: h.partner_name ?? "Coalesce",
        label: "On hold for a purchase in progress",
        reference: h.reference,
        signed_points: -Number(h.points),
        status: "held",
        expires_at: h.expires_at,
      }))
    : [];
  return { items, holds, next_cursor: found.length > options.limit && last ? encodeCursor(last.created_at, last.id) : null };
}
