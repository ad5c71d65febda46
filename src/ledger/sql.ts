/**
 * The typed door to the ledger's SQL (`sql/*.sql`): the only TypeScript that names a SQL
 * function. Inputs are typed (from the route schemas, by the callers); outputs are domain
 * outcomes: a result, or a refusal with its domain code. No HTTP status crosses this door; the
 * HTTP layer maps codes to statuses in one table (`src/http/problem.ts`).
 */
import { sql, type SQL } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { DomainError, type ErrorCode } from "../errors.js";

/** SQLSTATE of a business refusal raised by `ledger_refusal` (message: the domain code). */
export const REFUSAL_SQLSTATE = "CLR01";

/** A refusal raised by the ledger's SQL, as a typed domain error; undefined for anything else. */
export function ledgerRefusal(err: unknown): DomainError | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const { code, message, detail, hint } = e as { code?: unknown; message?: unknown; detail?: unknown; hint?: unknown };
    if (code === REFUSAL_SQLSTATE && typeof message === "string") {
      const retryAfterSeconds = typeof hint === "string" && /^[0-9]+$/.test(hint) ? Number(hint) : undefined;
      return new DomainError(message as ErrorCode, typeof detail === "string" ? detail : message, retryAfterSeconds ? { retryAfterSeconds } : {});
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

async function scalar<T>(db: Executor, query: SQL): Promise<T> {
  try {
    const result = (await db.execute(query)) as unknown as { rows: { r: T }[] };
    return result.rows[0]!.r;
  } catch (err) {
    throw ledgerRefusal(err) ?? err;
  }
}

const json = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;
const ts = (date: Date) => sql`${date.toISOString()}::timestamptz`;

export type LedgerOp =
  | "earn"
  | "burn"
  | "hold"
  | "capture"
  | "void"
  | "reverse"
  | "redeem"
  | "redemption_cancel"
  | "redemption_reject"
  | "redemption_fulfil"
  | "voucher_use"
  | "transfer"
  | "activity";

/** What `ledger_call` answered: a result, a refusal, or (replays of old rows) a stored response. */
export type LedgerOutcome = { replayed: boolean } & (
  | { result: Record<string, unknown>; request_id: string }
  | { refusal: { code: ErrorCode; detail: string }; request_id: string }
  | { stored: { status: number; body: unknown } }
);

/** One posting, one round trip: token spent, key claimed, posted or refused, answer stored. */
export function callLedger(db: Executor, op: LedgerOp, args: Record<string, unknown>, ctx: Record<string, unknown>): Promise<LedgerOutcome> {
  return scalar<LedgerOutcome>(db, sql`select ledger_call(${op}, ${json(args)}, ${json(ctx)}) as r`);
}

/** What an earn would credit, written nowhere. */
export function quoteSql(db: Executor, args: Record<string, unknown>, ctx: Record<string, unknown>) {
  return scalar<{ points: number; base_points: number; bonus_points: number }>(db, sql`select ledger_quote(${json(args)}, ${json(ctx)}) as r`);
}

/** Spends a request token's jti (and counts the partner's rate window); refuses a replay. */
export async function spendTokenSql(db: Executor, tokenContext: Record<string, unknown>): Promise<void> {
  await scalar(db, sql`select ledger_spend_token(${json(tokenContext)}) as r`);
}

/** Releases a member's due pending points and ends its lapsed holds before a read. */
export async function settleMemberSql(db: Executor, memberId: string, now: Date, idPrefix: string): Promise<void> {
  await scalar(db, sql`select ledger_settle_member(${memberId}, ${ts(now)}, ${idPrefix}) as r`);
}

/** Points a member earned since `since`, net of their reversals (the tier window). */
export async function earnedSinceSql(db: Executor, memberId: string, since: Date): Promise<number> {
  return Number(await scalar<string>(db, sql`select ledger_earned_since(${memberId}, ${ts(since)})::text as r`));
}

/** Jobs: bounded batches, each returning how many it processed. */
export const jobsSql = {
  expireVouchers: (db: Executor, now: Date, maxVouchers: number) =>
    scalar<number>(db, sql`select ledger_expire_vouchers(${ts(now)}, ${maxVouchers}) as r`).then(Number),
  settleDue: (db: Executor, now: Date, maxMembers: number, idPrefix: string) =>
    scalar<number>(db, sql`select ledger_settle_due(${ts(now)}, ${maxMembers}, ${idPrefix}) as r`).then(Number),
  expireLots: (db: Executor, now: Date, maxLots: number, idPrefix: string) =>
    scalar<number>(db, sql`select ledger_expire_lots(${ts(now)}, ${maxLots}, ${idPrefix}) as r`).then(Number),
  expireInactive: (db: Executor, now: Date, cutoff: Date, maxLots: number, idPrefix: string) =>
    scalar<number>(db, sql`select ledger_expire_inactive(${ts(now)}, ${ts(cutoff)}, ${maxLots}, ${idPrefix}) as r`).then(Number),
};

/** SQL expressions built from the ledger's helpers, for queries that read through them. */
export const sqlExpr = {
  /** A timestamp as the API shows it (RFC 3339 UTC, milliseconds). */
  apiTimestamp: (expr: SQL) => sql`ledger_ts(${expr})`,
  /** The UTC calendar month of a timestamp. */
  month: (expr: SQL) => sql`ledger_month(${expr})`,
  /** A postings row as the API's transaction object. */
  transactionJson: (row: SQL, now: Date) => sql`ledger_txn_json(${row}, ${ts(now)})`,
  /** A redemption as the API shows it; voucher codes in full only when `showCodes`. */
  redemptionJson: (row: SQL, showCodes: SQL | boolean, now: Date) => sql`ledger_redemption_json(${row}, ${showCodes}, ${ts(now)})`,
};
