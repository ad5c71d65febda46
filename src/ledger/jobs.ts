import { jobsSql } from "./sql.js";
import type { Job } from "../jobs/job.js";
import { newId } from "../lib/ids.js";

const MEMBERS_PER_RUN = 500;
const LOTS_PER_RUN = 2_000;

/** Releases pending points whose time has come and ends holds past their TTL (bounded per run). */
export const releaseDue: Job = {
  name: "release_pending_and_expire_holds",
  run: (services, now) =>
    jobsSql.settleDue(services.db(), now, MEMBERS_PER_RUN, newId("txn", now.getTime())),
};

/**
 * Expires lots past their date into breakage, oldest first, and, where configured, every lot of
 * members inactive for POINTS_INACTIVITY_EXPIRY_MONTHS (bounded per run).
 */
export const expireLots: Job = {
  name: "expire_points",
  async run(services, now) {
    let n = await jobsSql.expireLots(services.db(), now, LOTS_PER_RUN, newId("txn", now.getTime()));
    const months = services.config.inactivityExpiryMonths;
    if (months !== undefined) {
      const cutoff = new Date(now);
      cutoff.setUTCMonth(cutoff.getUTCMonth() - months);
      n += await jobsSql.expireInactive(services.db(), now, cutoff, LOTS_PER_RUN, newId("txn", now.getTime()));
    }
    return n;
  },
};
