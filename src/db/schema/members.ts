import { sql } from "drizzle-orm";
import { bigint, check, index, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { partners } from "./partners.js";

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 6 });

/**
 * A member of the coalition. Balances are the ledger's running totals for the member's three
 * buckets, changed only by postings in the same transaction as their entries.
 * `available` may go below zero only through an earn reversal (checked by ledger:verify).
 */
export const members = pgTable(
  "members",
  {
    id: text("id").primaryKey(),
    status: text("status", { enum: ["active", "erased"] }).notNull().default("active"),
    available: bigint("available", { mode: "number" }).notNull().default(0),
    pending: bigint("pending", { mode: "number" }).notNull().default(0),
    held: bigint("held", { mode: "number" }).notNull().default(0),
    createdAt: ts("created_at").notNull().defaultNow(),
    lastActivityAt: ts("last_activity_at").notNull().defaultNow(),
    erasedAt: ts("erased_at"),
  },
  (t) => [
    check("members_buckets_nonnegative", sql`${t.pending} >= 0 and ${t.held} >= 0`),
    check("members_id_prefix", sql`${t.id} like 'mbr\\_%'`),
    // New members in a period (the engagement report), read by time.
    index("members_created").on(t.createdAt),
  ],
);

/**
 * A partner's customer linked to a member. One active customer per partner per member, and one
 * member per partner customer reference: both are unique indexes, not checks in code.
 * Unlinking keeps the row (audit) with `unlinked_at`; erasure clears `external_ref`.
 */
export const memberLinks = pgTable(
  "member_links",
  {
    id: text("id").primaryKey(),
    memberId: text("member_id")
      .notNull()
      .references(() => members.id),
    partnerId: text("partner_id")
      .notNull()
      .references(() => partners.id),
    externalRef: text("external_ref"),
    via: text("via", { enum: ["enrolment", "link_code"] }).notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
    unlinkedAt: ts("unlinked_at"),
  },
  (t) => [
    uniqueIndex("member_links_one_per_partner").on(t.memberId, t.partnerId).where(sql`${t.unlinkedAt} is null`),
    uniqueIndex("member_links_ref_unique").on(t.partnerId, t.externalRef).where(sql`${t.unlinkedAt} is null`),
    index("member_links_member").on(t.memberId),
    // Members first linked to a partner in a period (insights), read by partner and time.
    index("member_links_partner_created").on(t.partnerId, t.createdAt),
    check("member_links_ref_length", sql`${t.externalRef} is null or length(${t.externalRef}) between 1 and 128`),
  ],
);

/** Single-use link codes; only a hash of the code is stored. */
export const linkCodes = pgTable(
  "link_codes",
  {
    codeHash: text("code_hash").primaryKey(),
    memberId: text("member_id")
      .notNull()
      .references(() => members.id),
    /** The partner that asked for it, or null when the member made it in the portal. */
    createdBy: text("created_by"),
    expiresAt: ts("expires_at").notNull(),
    usedAt: ts("used_at"),
    usedBy: text("used_by"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [index("link_codes_member").on(t.memberId)],
);

/** One-time portal URLs and the member sessions they start; only hashes are stored. */
export const portalTokens = pgTable(
  "portal_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    kind: text("kind", { enum: ["login", "session"] }).notNull(),
    memberId: text("member_id")
      .notNull()
      .references(() => members.id),
    partnerId: text("partner_id"),
    expiresAt: ts("expires_at").notNull(),
    usedAt: ts("used_at"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [index("portal_tokens_member").on(t.memberId), index("portal_tokens_expires").on(t.expiresAt)],
);
