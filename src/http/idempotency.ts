import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { callerScope } from "../auth/caller.js";
import type { Tx } from "../db/database.js";
import { DomainError } from "../errors.js";
import { runIdempotent, type StoredResponse } from "../idempotency.js";
import type { AppEnv } from "./env.js";
import { spendToken } from "./auth.js";
import { requestFingerprint } from "./ledger.js";
import { problemBase, problemBody } from "./problem.js";

const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** Route middleware: POSTs must carry a valid Idempotency-Key (checked after authentication). */
export const requireIdempotencyKey = () =>
  createMiddleware<AppEnv>(async function checkIdempotencyKey(c, next) {
    const key = c.req.header("idempotency-key");
    if (key === undefined || !KEY_PATTERN.test(key)) {
      // Spent, because the key is not signed: a replay with a key added must not act.
      await spendToken(c, c.var.services.db());
      throw new DomainError("idempotency_key_required", "Send an Idempotency-Key header of 1–255 printable characters.");
    }
    await next();
  });

/**
 * Runs a route's effect once per Idempotency-Key and answers with the stored response,
 * marked `Idempotent-Replayed: true` when it is a replay.
 */
// The answer may be a stored success or a stored refusal, so it is typed loosely for the router.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function idempotent(c: Context<AppEnv>, effect: (tx: Tx) => Promise<StoredResponse>): Promise<any> {
  const key = c.req.header("idempotency-key")!;
  const fingerprint = await requestFingerprint(c);
  const result = await runIdempotent(
    c.var.services.db(),
    { scope: callerScope(c.var.caller), key, fingerprint },
    effect,
    (err) => {
      const problem = problemBody(err.code, err.detail, c.var.requestId, err.extra.errors, problemBase(c));
      return { status: problem.status, body: problem };
    },
    (tx) => spendToken(c, tx),
  );
  const headers: Record<string, string> = {
    "content-type": result.status >= 400 ? "application/problem+json" : "application/json",
  };
  if (result.replayed) headers["idempotent-replayed"] = "true";
  return new Response(result.body === null || result.status === 204 ? null : JSON.stringify(result.body), { status: result.status, headers });
}
