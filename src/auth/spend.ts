/**
 * Spending a request token: its jti recorded at most once per issuer (a replay is refused on
 * every process) and the request counted against the partner's per-minute limit, in one
 * statement inside the request's own transaction.
 */
import type { Executor } from "../db/database.js";
import { spendTokenSql } from "../ledger/sql.js";
import { CLOCK_SKEW_SECONDS, type VerifiedToken } from "./token.js";

/** Rows per window for a limit: one (exact) for low limits, a few for high ones (no single hot row). */
export function rateShards(limitPerMinute: number): number {
  return Math.min(8, Math.max(1, Math.ceil(limitPerMinute / 1_200)));
}

/** The token's fields as the ledger's SQL (`ledger_spend_token`) takes them. */
export function tokenContext(token: VerifiedToken): Record<string, unknown> {
  const { caller, issuer, jti, exp, rateLimitPerMinute: limit, verifiedAt: now } = token;
  const windowStartMs = Math.floor(now.getTime() / 60_000) * 60_000;
  const shards = limit === null ? 1 : rateShards(limit);
  const ctx: Record<string, unknown> = {
    issuer,
    jti,
    jti_expires_at: new Date((exp + CLOCK_SKEW_SECONDS) * 1000).toISOString(),
    partner_id: caller.kind === "partner" ? caller.partnerId : null,
  };
  if (limit !== null) {
    Object.assign(ctx, {
      rate_limit: limit,
      shards,
      shard: Math.floor(Math.random() * shards),
      window_start: new Date(windowStartMs).toISOString(),
      retry_after: Math.max(1, Math.ceil((windowStartMs + 60_000 - now.getTime()) / 1000)),
    });
  }
  return ctx;
}

/**
 * Spends the token's jti (refused if already spent, on any process) and counts the request
 * against the partner's per-minute limit, in one statement on `db`.
 */
export async function consumeToken(db: Executor, token: VerifiedToken): Promise<void> {
  await spendTokenSql(db, tokenContext(token));
}

