import type { Config } from "../config.js";
import type { Executor } from "../db/database.js";
import { validationFailed } from "../errors.js";
import { newId } from "../lib/ids.js";
import { currencyExponent } from "../lib/money.js";
import type { BurnInput, CaptureInput, EarnInput, HoldInput, ReversalInput } from "../routes/ledger.js";
import type { RedeemInput } from "../routes/rewards.js";
import type { ActivityInput } from "../routes/activities.js";
import { voucherCode } from "../rewards/codes.js";
import { callLedger, quoteSql, type LedgerOp, type LedgerOutcome } from "./sql.js";
import { TIERS, TIER_WINDOW_MONTHS } from "./tiers.js";

export type { LedgerOp, LedgerOutcome };

/** A posting as the routes validated it: the input types come from the route schemas. */
export type Posting =
  | { op: "earn"; input: EarnInput }
  | { op: "burn"; input: BurnInput }
  | { op: "hold"; input: HoldInput }
  | { op: "capture"; input: CaptureInput & { hold_id: string } }
  | { op: "void"; input: { hold_id: string } }
  | { op: "reverse"; input: ReversalInput & { transaction_id: string } }
  | { op: "redeem"; input: RedeemInput }
  | { op: "redemption_cancel"; input: { redemption_id: string } }
  | { op: "redemption_reject"; input: { redemption_id: string; reason: string } }
  | { op: "redemption_fulfil"; input: { redemption_id: string; reference: string } }
  | { op: "voucher_use"; input: { code: string; reference: string } }
  /** `code_hash`: the receive code as stored (only hashes of codes are kept). */
  | { op: "transfer"; input: { member: string; code_hash: string; points: number; reference: string } }
  | { op: "activity"; input: ActivityInput };

export interface PostingRequest {
  /** `ledger_spend_token` fields of the request's verified token. */
  token: Record<string, unknown>;
  scope: string;
  idempotencyKey: string;
  fingerprint: string;
  requestId: string;
  now: Date;
}

const MAX_PENDING_MS = 366 * 86_400_000;
const MAX_OCCURRED_AHEAD_MS = 86_400_000;

/** Business limits on an earn's times, checked before anything is written. */
export function assertEarnTimes(input: Pick<EarnInput, "available_at" | "occurred_at">, now: Date): void {
  if (input.available_at && Date.parse(input.available_at) - now.getTime() > MAX_PENDING_MS)
    throw validationFailed([{ path: "available_at", message: "must be at most 366 days ahead" }]);
  if (input.occurred_at && Date.parse(input.occurred_at) - now.getTime() > MAX_OCCURRED_AHEAD_MS)
    throw validationFailed([{ path: "occurred_at", message: "must not be in the future" }]);
}

function monthsBefore(date: Date, months: number): Date {
  const d = new Date(date);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d;
}

/**
 * What the SQL needs besides the request: ids minted here, the clock, tier and expiry
 * configuration, and for an earn its currency's ISO 4217 exponent (defined once, in lib/money).
 */
export function ledgerContext(config: Config, now: Date, currency?: string): Record<string, unknown> {
  return {
    ...(currency === undefined ? {} : { currency_exponent: currencyExponent(currency) }),
    now: now.toISOString(),
    posting_id: newId("txn", now.getTime()),
    hold_id: newId("hold", now.getTime()),
    tiers: TIERS,
    tier_window_start: monthsBefore(now, TIER_WINDOW_MONTHS).toISOString(),
    expiry_months: config.expiryMonths,
  };
}

/** What an operation needs besides the common context: ids it mints (a redemption, its voucher codes, a fulfilment, a transfer's two sides) and its limits. */
function opContext(config: Config, posting: Posting, now: Date): Record<string, unknown> {
  if (posting.op === "transfer")
    return { transfer_id: newId("trf", now.getTime()), transfer_in_id: newId("txn", now.getTime()), transfer_daily_points: config.memberTransferDailyPoints };
  if (posting.op === "redeem")
    return {
      redemption_id: newId("rdm", now.getTime()),
      voucher_codes: Array.from({ length: posting.input.quantity ?? 1 }, () => voucherCode()),
    };
  if (posting.op === "redemption_fulfil" || posting.op === "voucher_use") return { fulfilment_id: newId("ful", now.getTime()) };
  return {};
}

/**
 * One posting, one round trip: `ledger_call` spends the token, claims the Idempotency-Key,
 * posts (or records the refusal) and stores the answer in a single transaction. Invariants live
 * in the SQL next to the rows they guard (`sql/`). Returns a domain outcome, never HTTP.
 */
export async function postToLedger(db: Executor, config: Config, partnerId: string, posting: Posting, request: PostingRequest): Promise<LedgerOutcome> {
  if (posting.op === "earn") assertEarnTimes(posting.input, request.now);
  const ctx = {
    ...request.token,
    ...ledgerContext(config, request.now, posting.op === "earn" ? posting.input.currency : undefined),
    ...opContext(config, posting, request.now),
    scope: request.scope,
    idem_key: request.idempotencyKey,
    fingerprint: request.fingerprint,
    request_id: request.requestId,
  };
  return callLedger(db, posting.op, { ...posting.input, partner_id: partnerId }, ctx);
}

/** The quote endpoint's arithmetic: what an earn would credit, written nowhere. `authorize` runs once the input passed. */
export async function quoteEarn(db: Executor, config: Config, partnerId: string, input: EarnInput, now: Date, authorize: () => Promise<void>) {
  assertEarnTimes(input, now);
  await authorize();
  return quoteSql(db, { ...input, partner_id: partnerId }, ledgerContext(config, now, input.currency));
}
