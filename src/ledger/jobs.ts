import { sql } from "drizzle-orm";
import type { Job } from "../jobs/index.js";
import { newId } from "../lib/ids.js";

const MEMBERS_PER_RUN = 500;
const LOTS_PER_RUN = 2_000;

async function scalar(services: Parameters<Job["run"]>[0], query: ReturnType<typeof sql>): Promise<number> {
  const r = (await services.db().execute(query)) as unknown as { rows: { n: number }[] };
  return Number(r.rows[0]!.n);
}

/** Releases pending points whose time has come and ends holds past their TTL (bounded per run). */
export const releaseDue: Job = {
  name: "release_pending_and_expire_holds",
  run: (services, now) =>
    scalar(services, sql`select ledger_settle_due(${now.toISOString()}::timestamptz, ${MEMBERS_PER_RUN}, ${newId("txn", now.getTime())}) as n`),
};

/**
 * Expires lots past their date into breakage, oldest first, and, where configured, every lot of
 * members inactive for POINTS_INACTIVITY_EXPIRY_MONTHS (bounded per run).
 */
export const expireLots: Job = {
  name: "expire_points",
  async run(services, now) {
    let n = await scalar(services, sql`select ledger_expire_lots(${now.toISOString()}::timestamptz, ${LOTS_PER_RUN}, ${newId("txn", now.getTime())}) as n`);
    const months = services.config.inactivityExpiryMonths;
    if (months !== undefined) {
      const cutoff = new Date(now);
      cutoff.setUTCMonth(cutoff.getUTCMonth() - months);
      n += await scalar(
        services,
        sql`select ledger_expire_inactive(${now.toISOString()}::timestamptz, ${cutoff.toISOString()}::timestamptz, ${LOTS_PER_RUN}, ${newId("txn", now.getTime())}) as n`,
      );
    }
    return n;
  },
};
