import { sql } from "drizzle-orm";
import { bigint, check, date, index, integer, numeric, pgSequence, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });
const money = (name: string) => numeric(name, { precision: 24, scale: 4 });

/** A settlement run over [period_start, period_end): drafts are repeatable, a final one is for ever. */
export const settlementRuns = pgTable(
  "settlement_runs",
  {
    id: text("id").primaryKey(),
    periodStart: date("period_start").notNull(),
    periodEnd: date("period_end").notNull(),
    status: text("status", { enum: ["draft", "final"] }).notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: ts("created_at").notNull(),
    /** The ledger was read up to (excluding) this instant; later postings belong to later runs. */
    cutoffAt: ts("cutoff_at").notNull(),
    finalizedAt: ts("finalized_at"),
    finalizedBy: text("finalized_by"),
  },
  (t) => [
    index("settlement_runs_period").on(t.periodStart, t.periodEnd),
    check("settlement_runs_period_order", sql`${t.periodEnd} > ${t.periodStart}`),
  ],
);

export const statementNumbers = pgSequence("statement_numbers", { startWith: 1 });

/** A partner's statement in a run. Final statements carry a number and the platform's signature. */
export const statements = pgTable(
  "statements",
  {
    id: text("id").primaryKey(),
    runId: text("run_id").notNull(),
    partnerId: text("partner_id").notNull(),
    periodStart: date("period_start").notNull(),
    periodEnd: date("period_end").notNull(),
    currency: text("currency").notNull(),
    billing: text("billing").notNull(),
    earnedPoints: bigint("earned_points", { mode: "number" }).notNull(),
    earnReversedPoints: bigint("earn_reversed_points", { mode: "number" }).notNull(),
    burnedPoints: bigint("burned_points", { mode: "number" }).notNull(),
    burnRefundedPoints: bigint("burn_refunded_points", { mode: "number" }).notNull(),
    expiredPoints: bigint("expired_points", { mode: "number" }).notNull(),
    operatorFundedPoints: bigint("operator_funded_points", { mode: "number" }).notNull(),
    issuanceAmount: money("issuance_amount").notNull(),
    redemptionAmount: money("redemption_amount").notNull(),
    /** What the operator owes this partner as a reward supplier for units fulfilled in the period. */
    rewardsAmount: money("rewards_amount").notNull().default("0"),
    netAmount: money("net_amount").notNull(),
    entryCount: integer("entry_count").notNull(),
    number: text("number"),
    status: text("status", { enum: ["draft", "final"] }).notNull(),
    signature: text("signature"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("statements_run_partner").on(t.runId, t.partnerId),
    index("statements_partner_final").on(t.partnerId, t.periodStart).where(sql`${t.status} = 'final'`),
    uniqueIndex("statements_number").on(t.number),
  ],
);

/** Blocks of points a prepaid partner bought (append-only; the balance is partners.prepaid_points). */
export const prepaidPurchases = pgTable(
  "prepaid_purchases",
  {
    id: text("id").primaryKey(),
    partnerId: text("partner_id").notNull(),
    points: bigint("points", { mode: "number" }).notNull(),
    reference: text("reference").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [index("prepaid_purchases_partner").on(t.partnerId, t.createdAt), check("prepaid_purchases_positive", sql`${t.points} > 0`)],
);

/** One-time sign-in links for staff web pages, and the sessions they start; only hashes are stored. */
export const staffSessions = pgTable(
  "staff_sessions",
  {
    tokenHash: text("token_hash").primaryKey(),
    kind: text("kind", { enum: ["login", "session"] }).notNull(),
    sub: text("sub").notNull(),
    role: text("role", { enum: ["admin", "finance"] }).notNull(),
    expiresAt: ts("expires_at").notNull(),
    usedAt: ts("used_at"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [index("staff_sessions_expires").on(t.expiresAt)],
);
