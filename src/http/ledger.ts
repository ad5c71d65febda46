import type { Context } from "hono";
import type { AppEnv } from "./env.js";
import { callingPartner, rawTarget } from "./auth.js";
import { tokenContext } from "../auth/spend.js";
import { callerScope } from "../auth/caller.js";
import { postToLedger, type LedgerOp, type LedgerOutcome, type Posting } from "../ledger/post.js";
import { sha256Hex } from "../lib/encoding.js";
import { problemBody } from "./problem.js";

/** Same fingerprint as every other idempotent route: method, path as sent, body bytes. */
export async function requestFingerprint(c: Context<AppEnv>): Promise<string> {
  return sha256Hex(`${c.req.method}\n${rawTarget(c)}\n${await sha256Hex(c.var.rawBody)}`);
}

/** HTTP status of each posting's success: the ledger answers with results, never statuses. */
const SUCCESS_STATUS: Record<LedgerOp, 200 | 201> = {
  earn: 201,
  burn: 201,
  hold: 201,
  capture: 200,
  void: 200,
  reverse: 201,
  redeem: 201,
  redemption_cancel: 200,
  redemption_reject: 200,
  redemption_fulfil: 200,
  voucher_use: 200,
  transfer: 201,
  activity: 201,
};

/** A ledger outcome as HTTP: a result with its op's status, a refusal as problem+json from the one code table. */
export function renderOutcome(op: LedgerOp, outcome: LedgerOutcome, problemBase?: string): { status: number; body: unknown } {
  if ("stored" in outcome) return outcome.stored; // answered before outcomes were stored as domain values
  if ("refusal" in outcome) {
    const problem = problemBody(outcome.refusal.code, outcome.refusal.detail, outcome.request_id, undefined, problemBase);
    return { status: problem.status, body: problem };
  }
  return { status: SUCCESS_STATUS[op], body: outcome.result };
}

/** A partner posting: one call into the ledger, which spends the token and stores the answer. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function ledgerPosting(c: Context<AppEnv>, posting: Posting): Promise<any> {
  const { services } = c.var;
  const outcome = await postToLedger(services.db(), services.config, callingPartner(c), posting, {
    token: tokenContext(c.var.token),
    scope: callerScope(c.var.caller),
    idempotencyKey: c.req.header("idempotency-key")!,
    fingerprint: await requestFingerprint(c),
    requestId: c.var.requestId,
    now: services.now(),
  });
  c.var.token.spent = true;
  const { status, body } = renderOutcome(posting.op, outcome, services.config.publicBaseUrl);
  const headers: Record<string, string> = { "content-type": status >= 400 ? "application/problem+json" : "application/json" };
  if (outcome.replayed) headers["idempotent-replayed"] = "true";
  return new Response(JSON.stringify(body), { status, headers });
}
