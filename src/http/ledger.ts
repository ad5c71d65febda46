import type { Context } from "hono";
import type { AppEnv } from "./env.js";
import { callingPartner, rawTarget } from "./auth.js";
import { tokenContext } from "../auth/verify.js";
import { callerScope } from "../auth/caller.js";
import { postToLedger, type LedgerOp } from "../ledger/post.js";
import { sha256Hex } from "../lib/encoding.js";
import { PROBLEM_TYPE_BASE } from "./problem.js";

/** Same fingerprint as every other idempotent route: method, path as sent, body bytes. */
export async function requestFingerprint(c: Context<AppEnv>): Promise<string> {
  return sha256Hex(`${c.req.method}\n${rawTarget(c)}\n${await sha256Hex(c.var.rawBody)}`);
}

/** A partner posting: one call into the ledger, which spends the token and stores the answer. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function ledgerPosting(c: Context<AppEnv>, op: LedgerOp, args: Record<string, unknown>): Promise<any> {
  const { services } = c.var;
  const result = await postToLedger(services.db(), services.config, op, { ...args, partner_id: callingPartner(c) }, {
    token: tokenContext(c.var.token),
    scope: callerScope(c.var.caller),
    idempotencyKey: c.req.header("idempotency-key")!,
    fingerprint: await requestFingerprint(c),
    requestId: c.var.requestId,
    problemBase: PROBLEM_TYPE_BASE,
    now: services.now(),
  });
  c.var.token.spent = true;
  const headers: Record<string, string> = { "content-type": result.status >= 400 ? "application/problem+json" : "application/json" };
  if (result.replayed) headers["idempotent-replayed"] = "true";
  return new Response(JSON.stringify(result.body), { status: result.status, headers });
}
