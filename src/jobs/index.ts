import { pruneExpiredRecords } from "../auth/prune.js";
import { expireLots, releaseDue } from "../ledger/jobs.js";
import { deliverDueEvents } from "../events/deliver.js";
import { expireVouchers } from "../rewards/jobs.js";
import type { Services } from "../services.js";
import { describeDriverError, isDatabaseUnavailable } from "../db/errors.js";
import type { Job } from "./job.js";

export type { Job };

/** Delivers outbox events to partners' webhooks (after the jobs before it, which may emit some). */
const deliverWebhooks: Job = { name: "deliver_webhooks", run: (services, now) => deliverDueEvents(services, now) };

/** Jobs in the order they run; each domain registers its own here. */
export const JOBS: Job[] = [releaseDue, expireLots, expireVouchers, deliverWebhooks, pruneExpiredRecords];

export interface JobsReport {
  [name: string]: { processed: number } | { error: string };
}

/** Runs every job once. One failing job is reported and does not stop the others. */
export async function runScheduledJobs(services: Services, now: Date): Promise<JobsReport> {
  const report: JobsReport = {};
  for (const job of JOBS) {
    try {
      report[job.name] = { processed: await job.run(services, now) };
    } catch (err) {
      // The database being away is expected now and then: one short line, no query text.
      if (isDatabaseUnavailable(err)) {
        const error = `database unavailable: ${describeDriverError(err)}`;
        console.error(`job ${job.name} failed: ${error}`);
        report[job.name] = { error };
      } else {
        console.error(`job ${job.name} failed:`, err);
        report[job.name] = { error: err instanceof Error ? err.message : String(err) };
      }
    }
  }
  return report;
}
