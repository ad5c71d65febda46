import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, jsonb, numeric, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** Exact decimal for prices and rates: 20 digits, 6 after the point, never a float. */
export const decimal = (name: string) => numeric(name, { precision: 20, scale: 6 });

/** A coalition partner: its terms live here; prices are locked onto each posting when it is made. */
export const partners = pgTable(
  "partners",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    category: text("category").notNull(),
    status: text("status", { enum: ["active", "suspended"] }).notNull().default("active"),
    settlementCurrency: text("settlement_currency").notNull(),
    billing: text("billing", { enum: ["issuance", "redemption"] }).notNull(),
    issuePricePerPoint: decimal("issue_price_per_point").notNull(),
    redemptionPricePerPoint: decimal("redemption_price_per_point").notNull(),
    settlementPeriod: text("settlement_period", { enum: ["daily", "weekly", "monthly"] }).notNull(),
    prepaidPoints: bigint("prepaid_points", { mode: "bigint" }),
    creditLimit: decimal("credit_limit"),
    allowExplicitPoints: boolean("allow_explicit_points").notNull().default(false),
    rateLimitPerMinute: integer("rate_limit_per_minute"),
    /** Issuance caps per UTC day (limits.daily_points, limits.member_daily_points); null: none. */
    dailyPointsLimit: bigint("daily_points_limit", { mode: "number" }),
    memberDailyPointsLimit: bigint("member_daily_points_limit", { mode: "number" }),
    webhookUrl: text("webhook_url"),
    /** The document as last applied, for audit and round-tripping through the admin API. */
    document: jsonb("document").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 6 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 6 }).notNull().defaultNow(),
  },
  (t) => [
    check("partners_id_slug", sql`${t.id} ~ '^[a-z0-9][a-z0-9-]{0,62}$'`),
    check("partners_currency_iso", sql`${t.settlementCurrency} ~ '^[A-Z]{3}$'`),
    check("partners_prices_nonnegative", sql`${t.issuePricePerPoint} >= 0 and ${t.redemptionPricePerPoint} >= 0`),
    check("partners_prepaid_nonnegative", sql`${t.prepaidPoints} is null or ${t.prepaidPoints} >= 0`),
  ],
);

export const partnerEarnRules = pgTable(
  "partner_earn_rules",
  {
    partnerId: text("partner_id")
      .notNull()
      .references(() => partners.id),
    currency: text("currency").notNull(),
    category: text("category").notNull(),
    pointsPerUnit: decimal("points_per_unit").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.partnerId, t.currency, t.category] }),
    check("earn_rules_rate_nonnegative", sql`${t.pointsPerUnit} >= 0`),
  ],
);

/** Partner public keys. Revoked keys stay (audit); verification reads status on every request. */
export const partnerKeys = pgTable(
  "partner_keys",
  {
    partnerId: text("partner_id")
      .notNull()
      .references(() => partners.id),
    kid: text("kid").notNull(),
    alg: text("alg", { enum: ["ES256", "EdDSA"] }).notNull(),
    jwk: jsonb("jwk").notNull(),
    status: text("status", { enum: ["active", "revoked"] }).notNull().default("active"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 6 }).notNull().defaultNow(),
    revokedAt: timestamp("revoked_at", { withTimezone: true, precision: 6 }),
  },
  (t) => [primaryKey({ columns: [t.partnerId, t.kid] }), index("partner_keys_kid").on(t.kid)],
);

/**
 * Points issued per partner per UTC day, in total (`member_id` '') and per member, kept only for
 * partners with issuance limits: one conditional upsert per earn makes the caps hold under any
 * concurrency.
 */
export const issuanceDays = pgTable(
  "issuance_days",
  {
    partnerId: text("partner_id").notNull(),
    day: text("day").notNull(),
    memberId: text("member_id").notNull(),
    points: bigint("points", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.partnerId, t.day, t.memberId] })],
);
