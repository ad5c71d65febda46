import { sql } from "drizzle-orm";
import { bigint, check, index, integer, numeric, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

/**
 * The operator's catalogue: each reward supplied (and fulfilled) by one partner. `stock` is what
 * is left to redeem (null: unlimited); a conditional update takes it, so it never goes below zero.
 */
export const rewards = pgTable(
  "rewards",
  {
    id: text("id").primaryKey(),
    supplierId: text("supplier_id").notNull(),
    kind: text("kind").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    points: bigint("points", { mode: "number" }).notNull(),
    faceValueMinor: bigint("face_value_minor", { mode: "number" }),
    faceValueCurrency: text("face_value_currency"),
    transferProgram: text("transfer_program"),
    transferUnitsPerUnit: bigint("transfer_units_per_unit", { mode: "number" }),
    supplierPrice: numeric("supplier_price", { precision: 20, scale: 6 }).notNull(),
    stock: integer("stock"),
    perMemberLimit: integer("per_member_limit"),
    voucherValidDays: integer("voucher_valid_days").notNull().default(90),
    status: text("status").notNull().default("active"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [
    index("rewards_active").on(t.kind, t.id).where(sql`status = 'active'`),
    check("rewards_kind", sql`${t.kind} in ('voucher','item','transfer')`),
    check("rewards_status", sql`${t.status} in ('active','paused','retired')`),
    check("rewards_stock", sql`${t.stock} is null or ${t.stock} >= 0`),
    check("rewards_points", sql`${t.points} > 0`),
  ],
);

/**
 * A member's redemption of a reward: the points left as a `redemption` posting; prices are locked
 * here when it is made. Its status moves (issued / requested → used, fulfilled, rejected,
 * cancelled); the money facts are the postings and `reward_fulfilments`, both append-only.
 */
export const redemptions = pgTable(
  "redemptions",
  {
    id: text("id").primaryKey(),
    rewardId: text("reward_id").notNull(),
    supplierId: text("supplier_id").notNull(),
    partnerId: text("partner_id").notNull(),
    memberId: text("member_id").notNull(),
    kind: text("kind").notNull(),
    quantity: integer("quantity").notNull(),
    points: bigint("points", { mode: "number" }).notNull(),
    status: text("status").notNull(),
    reference: text("reference").notNull(),
    transferAccount: text("transfer_account"),
    fulfilmentReference: text("fulfilment_reference"),
    rejectReason: text("reject_reason"),
    supplierPrice: numeric("supplier_price", { precision: 20, scale: 6 }).notNull(),
    supplierCurrency: text("supplier_currency").notNull(),
    postingId: text("posting_id").notNull(),
    refundPostingId: text("refund_posting_id"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [
    index("redemptions_member_reward").on(t.memberId, t.rewardId),
    index("redemptions_partner_created").on(t.partnerId, t.createdAt),
    index("redemptions_supplier_created").on(t.supplierId, t.createdAt),
    check("redemptions_status", sql`${t.status} in ('issued','requested','fulfilled','rejected','cancelled')`),
    check("redemptions_quantity", sql`${t.quantity} between 1 and 10`),
  ],
);

/** One row per voucher unit of a voucher redemption; the code is the key (at least 80 random bits). */
export const vouchers = pgTable(
  "vouchers",
  {
    code: text("code").primaryKey(),
    redemptionId: text("redemption_id").notNull(),
    supplierId: text("supplier_id").notNull(),
    status: text("status").notNull().default("issued"),
    expiresAt: ts("expires_at").notNull(),
    usedAt: ts("used_at"),
    useReference: text("use_reference"),
  },
  (t) => [
    index("vouchers_redemption").on(t.redemptionId),
    index("vouchers_due").on(t.expiresAt).where(sql`status = 'issued'`),
    check("vouchers_status", sql`${t.status} in ('issued','used','cancelled','expired')`),
  ],
);

/**
 * What the operator owes suppliers: one append-only row per fulfilment (a voucher used, an item
 * or transfer fulfilled), at the price locked on the redemption. Statements sum them by period.
 */
export const rewardFulfilments = pgTable(
  "reward_fulfilments",
  {
    id: text("id").primaryKey(),
    redemptionId: text("redemption_id").notNull(),
    supplierId: text("supplier_id").notNull(),
    voucherCode: text("voucher_code"),
    units: integer("units").notNull(),
    supplierPrice: numeric("supplier_price", { precision: 20, scale: 6 }).notNull(),
    currency: text("currency").notNull(),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [
    index("reward_fulfilments_created").on(t.createdAt),
    uniqueIndex("reward_fulfilments_once").on(t.redemptionId, t.voucherCode),
    check("reward_fulfilments_units", sql`${t.units} > 0`),
  ],
);
