import { sql } from "drizzle-orm";
import { bigint, check, index, integer, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });
const points = (name: string) => bigint(name, { mode: "number" });

/**
 * Single-use codes a member hands to a sender (15 minutes). Only a hash is stored. A transfer
 * locks the row first and marks it used in its own transaction, so one code makes one transfer.
 */
export const receiveCodes = pgTable(
  "receive_codes",
  {
    codeHash: text("code_hash").primaryKey(),
    memberId: text("member_id").notNull(),
    /** The partner that asked for it, or null when the member made it in the portal. */
    createdBy: text("created_by"),
    expiresAt: ts("expires_at").notNull(),
    usedAt: ts("used_at"),
    transferId: text("transfer_id"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [index("receive_codes_member").on(t.memberId), index("receive_codes_expires").on(t.expiresAt)],
);

/**
 * Member-to-member transfers: the sender's `transfer_out` and the recipient's `transfer_in`
 * postings, made together. The sender's daily total is summed from here under its member lock.
 */
export const transfers = pgTable(
  "transfers",
  {
    id: text("id").primaryKey(),
    /** The partner that made it (for the sender), as on its `transfer_out` posting. */
    partnerId: text("partner_id").notNull(),
    senderId: text("sender_id").notNull(),
    recipientId: text("recipient_id").notNull(),
    points: points("points").notNull(),
    reference: text("reference").notNull(),
    outPostingId: text("out_posting_id").notNull(),
    inPostingId: text("in_posting_id").notNull(),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [
    index("transfers_sender_created").on(t.senderId, t.createdAt),
    index("transfers_recipient").on(t.recipientId),
    check("transfers_points", sql`${t.points} > 0`),
    check("transfers_two_members", sql`${t.senderId} <> ${t.recipientId}`),
  ],
);

/** One stable, shareable referral code per member, made the first time it is asked for. */
export const referralCodes = pgTable(
  "referral_codes",
  {
    memberId: text("member_id").primaryKey(),
    code: text("code").notNull(),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [uniqueIndex("referral_codes_code").on(t.code)],
);

/**
 * A member enrolled with another's referral code. Bonuses are paid once, when the referred
 * member's first earn is posted (or released): the referred member's at once, the referrer's in
 * the same transaction when its row is free, else by the next job run or posting of the referrer.
 * The bonus and the referrer's yearly cap are locked when the referral is made.
 */
export const referrals = pgTable(
  "referrals",
  {
    referredId: text("referred_id").primaryKey(),
    referrerId: text("referrer_id").notNull(),
    /** The partner that enrolled the referred member with the code. */
    partnerId: text("partner_id").notNull(),
    bonusPoints: points("bonus_points").notNull(),
    referrerCap: integer("referrer_cap").notNull(),
    createdAt: ts("created_at").notNull(),
    /** The referred member's first earn posted (or released): both bonuses become due. */
    qualifiedAt: ts("qualified_at"),
    qualifyingPostingId: text("qualifying_posting_id"),
    /** When the bonus points lapse: those of the purchase that qualified. */
    bonusExpiresAt: ts("bonus_expires_at"),
    referredPostingId: text("referred_posting_id"),
    /** null while waiting or due; 'paid', 'capped' (over the yearly cap) or 'forfeited' (referrer erased). */
    referrerOutcome: text("referrer_outcome"),
    referrerPostingId: text("referrer_posting_id"),
    referrerDecidedAt: ts("referrer_decided_at"),
  },
  (t) => [
    index("referrals_referrer_paid").on(t.referrerId, t.referrerDecidedAt).where(sql`${t.referrerOutcome} = 'paid'`),
    index("referrals_referrer_due").on(t.referrerId).where(sql`${t.qualifiedAt} is not null and ${t.referrerOutcome} is null`),
    check("referrals_not_self", sql`${t.referredId} <> ${t.referrerId}`),
    check("referrals_outcome", sql`${t.referrerOutcome} is null or ${t.referrerOutcome} in ('paid','capped','forfeited')`),
  ],
);

/** A partner's points for activities other than purchases, with per-member caps. Configuration, replaced with the document. */
export const partnerActivityRules = pgTable(
  "partner_activity_rules",
  {
    partnerId: text("partner_id").notNull(),
    activity: text("activity").notNull(),
    points: points("points").notNull(),
    perMemberDaily: integer("per_member_daily"),
    perMemberTotal: integer("per_member_total"),
  },
  (t) => [primaryKey({ columns: [t.partnerId, t.activity] }), check("activity_rules_points", sql`${t.points} > 0`)],
);

/** Which activity each `activity` posting paid for, and a survey's score (for NPS). Append-only. */
export const activityPostings = pgTable(
  "activity_postings",
  {
    postingId: text("posting_id").primaryKey(),
    partnerId: text("partner_id").notNull(),
    memberId: text("member_id").notNull(),
    activity: text("activity").notNull(),
    score: smallint("score"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [
    index("activity_postings_member").on(t.memberId, t.partnerId, t.activity, t.createdAt),
    index("activity_postings_partner_created").on(t.partnerId, t.createdAt),
    check("activity_postings_score", sql`${t.score} is null or ${t.score} between 0 and 10`),
  ],
);
