import { jobsSql } from "../ledger/sql.js";
import type { Job } from "../jobs/job.js";

const VOUCHERS_PER_RUN = 5_000;

/** Unused vouchers past their date expire: their points are not refunded and nothing is owed to the supplier. */
export const expireVouchers: Job = {
  name: "expire_vouchers",
  run: (services, now) => jobsSql.expireVouchers(services.db(), now, VOUCHERS_PER_RUN),
};
