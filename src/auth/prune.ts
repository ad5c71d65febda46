import { sql } from "drizzle-orm";
import type { Job } from "../jobs/job.js";

const BATCH = 5_000;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * How long each table written per request, per session or per event keeps a row. Ledger tables
 * (postings, entries, lots, lot moves, statements) are never pruned: they are the books.
 */
export const RETENTION: { table: string; column: string; keepMs: number; where?: string; why: string }[] = [
  { table: "used_tokens", column: "expires_at", keepMs: 0, why: "a jti matters only while its token could still be valid" },
  { table: "rate_windows", column: "window_start", keepMs: 2 * MINUTE, why: "a one-minute window is over" },
  { table: "link_codes", column: "expires_at", keepMs: 7 * DAY, why: "single use, 15 minutes; a week for support questions" },
  { table: "receive_codes", column: "expires_at", keepMs: 7 * DAY, why: "single use, 15 minutes; a week for support questions (the transfer keeps its own record)" },
  { table: "portal_tokens", column: "expires_at", keepMs: 7 * DAY, why: "portal links and sessions; a week for support questions" },
  { table: "staff_sessions", column: "expires_at", keepMs: 7 * DAY, why: "staff links and sessions; a week for audit questions" },
  { table: "idempotency_keys", column: "created_at", keepMs: 30 * DAY, why: "a retry with the same key is answered for 30 days" },
  { table: "events", column: "created_at", keepMs: 30 * DAY, where: "status in ('delivered', 'skipped')", why: "delivered webhooks, 30 days of history" },
  { table: "events", column: "created_at", keepMs: 90 * DAY, where: "status = 'dead'", why: "dead letters, 90 days to redeliver" },
];

/**
 * Enforces RETENTION: for each rule, deletes at most BATCH rows past their time per run (by ctid,
 * so a backlog never becomes one long-running delete), and reports how many went.
 */
export const pruneExpiredRecords: Job = {
  name: "prune_expired_records",
  async run(services, now) {
    const db = services.db();
    let removed = 0;
    for (const rule of RETENTION) {
      const cutoff = new Date(now.getTime() - rule.keepMs).toISOString();
      const extra = rule.where ? sql.raw(` and ${rule.where}`) : sql``;
      const r = (await db.execute(sql`
        delete from ${sql.identifier(rule.table)} where ctid in (
          select ctid from ${sql.identifier(rule.table)} where ${sql.identifier(rule.column)} < ${cutoff}::timestamptz${extra} limit ${BATCH})`)) as unknown as {
        rowCount?: number;
        affectedRows?: number;
      };
      removed += r.rowCount ?? r.affectedRows ?? 0;
    }
    return removed;
  },
};
