import { sql } from "drizzle-orm";
import { bigint, boolean, check, date, index, numeric, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });
const points = (name: string) => bigint(name, { mode: "number" });
const price = (name: string) => numeric(name, { precision: 20, scale: 6 });

/**
 * One posting per business event (earn, burn, reversal, release of pending points, hold, …).
 * Append-only: a trigger refuses UPDATE and DELETE. Prices are locked onto the posting when it
 * is made, so a later change of terms never rewrites history.
 */
export const postings = pgTable(
  "postings",
  {
    id: text("id").primaryKey(),
    type: text("type").notNull(),
    partnerId: text("partner_id"),
    memberId: text("member_id").notNull(),
    points: points("points").notNull(),
    basePoints: points("base_points").notNull().default(0),
    bonusPoints: points("bonus_points").notNull().default(0),
    /** Of the bonus, the points the operator pays for (tier bonus, operator-funded promotions). */
    operatorFundedPoints: points("operator_funded_points").notNull().default(0),
    reference: text("reference"),
    createdAt: ts("created_at").notNull(),
    /** When the partner says the purchase happened (informational; periods follow created_at). */
    occurredAt: ts("occurred_at"),
    availableAt: ts("available_at"),
    originalId: text("original_id"),
    holdId: text("hold_id"),
    currency: text("currency"),
    amountMinor: bigint("amount_minor", { mode: "number" }),
    category: text("category"),
    settlementCurrency: text("settlement_currency"),
    billing: text("billing"),
    issuePricePerPoint: price("issue_price_per_point"),
    redemptionPricePerPoint: price("redemption_price_per_point"),
    // The same prices in millionths as integers: settlement groups by them, and hashing bigints
    // is far cheaper than hashing numerics over a million rows.
    issuePriceMicros: bigint("issue_price_micros", { mode: "number" }).generatedAlwaysAs(sql`(issue_price_per_point * 1000000)::bigint`),
    redemptionPriceMicros: bigint("redemption_price_micros", { mode: "number" }).generatedAlwaysAs(sql`(redemption_price_per_point * 1000000)::bigint`),
  },
  (t) => [
    index("postings_member_created").on(t.memberId, t.createdAt),
    index("postings_partner_created").on(t.partnerId, t.createdAt),
    index("postings_created").on(t.createdAt),
    index("postings_original").on(t.originalId),
    // The tier window's sums (ledger_earned_since): one member's earns, and its earn reversals.
    index("postings_member_earns").on(t.memberId, t.createdAt).where(sql`type = 'earn'`),
    index("postings_member_reversals").on(t.memberId).where(sql`type = 'earn_reversal'`),
    // Postings no partner made (transfer_in, referral_bonus): partners list those of their linked members.
    index("postings_member_no_partner").on(t.memberId, t.createdAt, t.id).where(sql`partner_id is null`),
    index("postings_no_partner_created").on(t.createdAt, t.id).where(sql`partner_id is null`),
    check("postings_points_positive", sql`${t.points} > 0`),
    check(
      "postings_type",
      sql`${t.type} in ('earn','burn','earn_reversal','burn_refund','expiry','adjustment','release','hold','capture','hold_release','redemption','redemption_refund','activity','transfer_out','transfer_in','referral_bonus')`,
    ),
  ],
);

/** Double-entry lines: every posting's entries sum to zero (checked by a deferred constraint trigger). */
export const entries = pgTable(
  "entries",
  {
    postingId: text("posting_id").notNull(),
    account: text("account").notNull(),
    amount: points("amount").notNull(),
  },
  (t) => [primaryKey({ columns: [t.postingId, t.account] }), index("entries_account").on(t.account), check("entries_nonzero", sql`${t.amount} <> 0`)],
);

/**
 * Earned points in lots, oldest spent first; each lot remembers the partner that issued it and
 * the issue price locked then (settlement and the flow matrix follow lots). `remaining` is a
 * running figure kept with `lot_moves`, whose rows are append-only. A lot is made by the posting
 * that credited it (id = that posting's id) or, for points a member received in a transfer, by
 * the transfer from the sender's lot: `origin_id` is always the posting whose issuer and locked
 * prices the points carry (the earn or activity; a referral bonus, issued by no partner).
 */
export const lots = pgTable(
  "lots",
  {
    id: text("id").primaryKey(),
    memberId: text("member_id").notNull(),
    /** The issuing partner; null for points the operator issued (referral bonuses). */
    partnerId: text("partner_id"),
    originId: text("origin_id").notNull(),
    points: points("points").notNull(),
    remaining: points("remaining").notNull(),
    earnedAt: ts("earned_at").notNull(),
    availableAt: ts("available_at").notNull(),
    released: boolean("released").notNull(),
    expiresAt: ts("expires_at").notNull(),
  },
  (t) => [
    // Spending order (oldest expiry first, then id) straight from the index, stopping early.
    index("lots_member_open_order").on(t.memberId, t.expiresAt, t.id).where(sql`${t.remaining} > 0`),
    // Every other member-scoped look at lots (pending release, refunds, verification).
    index("lots_member").on(t.memberId),
    index("lots_pending_due").on(t.availableAt).where(sql`not ${t.released}`),
    index("lots_expiry_due").on(t.expiresAt).where(sql`${t.released} and ${t.remaining} > 0`),
    check("lots_remaining_range", sql`${t.remaining} >= 0 and ${t.remaining} <= ${t.points}`),
  ],
);

/** Every change to a lot's remaining points, by the posting that made it. */
export const lotMoves = pgTable(
  "lot_moves",
  {
    postingId: text("posting_id").notNull(),
    lotId: text("lot_id").notNull(),
    /** Negative when points leave the lot (burn, hold, expiry, reversal), positive when they return. */
    points: points("points").notNull(),
    // Facts copied by a trigger at insert (from the posting and the lot's earn), so settlement
    // and reports read lineage from this table alone, by time, without joins.
    createdAt: ts("created_at"),
    postingType: text("posting_type"),
    issuerId: text("issuer_id"),
    issuerBilling: text("issuer_billing"),
    /** −points × the earn's locked issue price × its partner-funded share (12 decimals). */
    issueValue: numeric("issue_value", { precision: 30, scale: 12 }),
  },
  (t) => [primaryKey({ columns: [t.postingId, t.lotId] }), index("lot_moves_lot").on(t.lotId), index("lot_moves_created").on(t.createdAt)],
);

export const holds = pgTable(
  "holds",
  {
    id: text("id").primaryKey(),
    memberId: text("member_id").notNull(),
    partnerId: text("partner_id").notNull(),
    points: points("points").notNull(),
    reference: text("reference").notNull(),
    status: text("status", { enum: ["authorized", "captured", "voided", "expired"] }).notNull(),
    createdAt: ts("created_at").notNull(),
    expiresAt: ts("expires_at").notNull(),
    postingId: text("posting_id").notNull(),
    capturedPoints: points("captured_points"),
    captureTransactionId: text("capture_transaction_id"),
    closedAt: ts("closed_at"),
  },
  (t) => [index("holds_expiring").on(t.expiresAt).where(sql`${t.status} = 'authorized'`), index("holds_member").on(t.memberId)],
);

/**
 * Time-boxed promotions per partner and category: a multiplier of base points or a fixed bonus,
 * drawn from a points budget that a conditional update never lets go below zero.
 */
export const promotions = pgTable(
  "promotions",
  {
    id: text("id").primaryKey(),
    partnerId: text("partner_id").notNull(),
    name: text("name").notNull(),
    category: text("category").notNull(),
    multiplier: numeric("multiplier", { precision: 10, scale: 4 }),
    fixedPoints: points("fixed_points"),
    startsAt: ts("starts_at").notNull(),
    endsAt: ts("ends_at").notNull(),
    budgetPoints: points("budget_points").notNull(),
    remainingPoints: points("remaining_points").notNull(),
    /** Share of each bonus point the operator pays for: 0 (partner-funded) to 1 (operator-funded). */
    operatorShare: numeric("operator_share", { precision: 5, scale: 4 }).notNull(),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [
    index("promotions_partner_window").on(t.partnerId, t.startsAt, t.endsAt),
    check("promotions_budget", sql`${t.remainingPoints} >= 0 and ${t.remainingPoints} <= ${t.budgetPoints}`),
    check("promotions_kind", sql`(${t.multiplier} is null) <> (${t.fixedPoints} is null)`),
    check("promotions_window", sql`${t.endsAt} > ${t.startsAt}`),
    check("promotions_share", sql`${t.operatorShare} between 0 and 1`),
  ],
);

/** Which promotions paid into which earn, and how much of it the operator funds. Append-only. */
export const postingPromotions = pgTable(
  "posting_promotions",
  {
    postingId: text("posting_id").notNull(),
    promotionId: text("promotion_id").notNull(),
    points: points("points").notNull(),
    operatorPoints: points("operator_points").notNull(),
  },
  (t) => [primaryKey({ columns: [t.postingId, t.promotionId] }), index("posting_promotions_promotion").on(t.promotionId)],
);

/**
 * Points each member earned per UTC month, net of reversals (a reversal counts in its earn's
 * month): the tier window sums at most thirteen of these instead of every earn of a year. Kept by
 * a trigger on postings (its function in sql/06_tiers.sql); ledger:verify recomputes them from the postings.
 */
export const memberEarnMonths = pgTable(
  "member_earn_months",
  {
    memberId: text("member_id").notNull(),
    month: date("month", { mode: "string" }).notNull(),
    points: points("points").notNull(),
  },
  (t) => [primaryKey({ columns: [t.memberId, t.month] })],
);
