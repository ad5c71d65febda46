import { sql } from "drizzle-orm";
import type { Job } from "../jobs/index.js";

const BATCH = 5_000;

/**
 * Forgets spent jtis once their tokens can no longer be valid, and rate windows once they are
 * over; bounded batches so a backlog never makes one long-running delete.
 */
export const pruneRequestRecords: Job = {
  name: "prune_request_records",
  async run(services, now) {
    const db = services.db();
    const tokens = (await db.execute(sql`
      delete from used_tokens where ctid in (
        select ctid from used_tokens where expires_at < ${now.toISOString()}::timestamptz limit ${BATCH})`)) as unknown as { rowCount?: number; affectedRows?: number };
    const windows = (await db.execute(sql`
      delete from rate_windows where window_start < ${new Date(now.getTime() - 120_000).toISOString()}::timestamptz`)) as unknown as {
      rowCount?: number;
      affectedRows?: number;
    };
    return (tokens.rowCount ?? tokens.affectedRows ?? 0) + (windows.rowCount ?? windows.affectedRows ?? 0);
  },
};
