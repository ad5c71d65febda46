import type { Config } from "../config.js";
import type { Executor } from "../db/database.js";
import { newId } from "../lib/ids.js";
import { ledgerSql } from "./call.js";
import { TIERS, TIER_WINDOW_MONTHS } from "./tiers.js";

export type LedgerOp = "earn" | "burn" | "hold" | "capture" | "void" | "reverse";

export interface PostingRequest {
  /** `ledger_spend_token` fields of the request's verified token. */
  token: Record<string, unknown>;
  scope: string;
  idempotencyKey: string;
  fingerprint: string;
  requestId: string;
  problemBase: string;
  now: Date;
}

export interface PostingResult {
  status: number;
  body: unknown;
  replayed: boolean;
}

function monthsBefore(date: Date, months: number): Date {
  const d = new Date(date);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d;
}

/** What the SQL needs besides the request: ids minted here, the clock, tier and expiry configuration. */
export function ledgerContext(config: Config, now: Date): Record<string, unknown> {
  return {
    now: now.toISOString(),
    posting_id: newId("txn", now.getTime()),
    hold_id: newId("hold", now.getTime()),
    tiers: TIERS,
    tier_window_start: monthsBefore(now, TIER_WINDOW_MONTHS).toISOString(),
    expiry_months: config.expiryMonths,
  };
}

/**
 * One posting, one round trip: `ledger_call` spends the token, claims the Idempotency-Key,
 * posts (or records the refusal) and stores the answer in a single transaction. Invariants
 * live in the SQL next to the rows they guard; see migrations/0004_ledger_functions.sql.
 */
export async function postToLedger(
  db: Executor,
  config: Config,
  op: LedgerOp,
  args: Record<string, unknown>,
  request: PostingRequest,
): Promise<PostingResult> {
  const ctx = {
    ...request.token,
    ...ledgerContext(config, request.now),
    scope: request.scope,
    idem_key: request.idempotencyKey,
    fingerprint: request.fingerprint,
    request_id: request.requestId,
    problem_base: request.problemBase,
  };
  return ledgerSql<PostingResult>(db, "ledger_call", op, args, ctx);
}

/** The quote endpoint's arithmetic: what an earn would credit, written nowhere. */
export async function quoteEarn(db: Executor, config: Config, args: Record<string, unknown>, now: Date) {
  return ledgerSql<{ points: number; base_points: number; bonus_points: number }>(db, "ledger_quote", args, ledgerContext(config, now));
}
