import { sql } from "drizzle-orm";
import { check, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Every accepted request token's `jti`, per issuer, kept while the token could still be valid
 * (exp + skew) so a replay is refused on every process and isolate; pruned by a job.
 */
export const usedTokens = pgTable(
  "used_tokens",
  {
    issuer: text("issuer").notNull(),
    jti: text("jti").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true, precision: 6 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.issuer, t.jti] }), index("used_tokens_expires_at").on(t.expiresAt)],
);

/**
 * Per-partner request counts in fixed one-minute windows. A partner with a high limit spreads
 * its count over a few shards so one hot row does not serialise its traffic.
 */
export const rateWindows = pgTable(
  "rate_windows",
  {
    partnerId: text("partner_id").notNull(),
    windowStart: timestamp("window_start", { withTimezone: true, precision: 0 }).notNull(),
    shard: smallint("shard").notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.partnerId, t.windowStart, t.shard] })],
);

/**
 * Idempotency records, written in the same transaction as the effect they describe.
 * `fingerprint` covers method, path and body; the stored answer is replayed verbatim.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    fingerprint: text("fingerprint").notNull(),
    /**
     * The answer: a response (status and body) for routes answered in TypeScript, or a domain
     * `outcome` ({ result } or { refusal: { code, detail } }, with the first request's id) for
     * postings answered by `ledger_call`. Null only inside the claiming transaction.
     */
    statusCode: smallint("status_code"),
    responseBody: jsonb("response_body"),
    outcome: jsonb("outcome"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 6 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.key] }),
    index("idempotency_keys_created_at").on(t.createdAt),
    check("idempotency_status", sql`${t.statusCode} is null or ${t.statusCode} between 200 and 599`),
  ],
);
