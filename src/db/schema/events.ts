import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

/**
 * The outbox: one row per event per partner it concerns, written in the same transaction as the
 * change it reports, then delivered at least once to the partner's webhook_url.
 */
export const events = pgTable(
  "events",
  {
    id: text("id").primaryKey(),
    partnerId: text("partner_id").notNull(),
    type: text("type").notNull(),
    data: jsonb("data").notNull(),
    createdAt: ts("created_at").notNull(),
    status: text("status", { enum: ["pending", "sending", "delivered", "dead", "skipped"] }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull(),
    lastError: text("last_error"),
    deliveredAt: ts("delivered_at"),
  },
  (t) => [
    index("events_due").on(t.nextAttemptAt).where(sql`${t.status} in ('pending', 'sending')`),
    index("events_partner").on(t.partnerId, t.createdAt),
    index("events_dead").on(t.partnerId).where(sql`${t.status} = 'dead'`),
  ],
);
