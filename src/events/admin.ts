import { and, desc, eq, sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { events } from "../db/schema/index.js";
import { DomainError } from "../errors.js";

export interface EventView {
  event_id: string;
  partner_id: string;
  type: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  next_attempt_at: string;
}

const view = (e: typeof events.$inferSelect): EventView => ({
  event_id: e.id,
  partner_id: e.partnerId,
  type: e.type,
  status: e.status,
  attempts: e.attempts,
  last_error: e.lastError,
  created_at: e.createdAt.toISOString(),
  next_attempt_at: e.nextAttemptAt.toISOString(),
});

/** Dead-lettered events (delivery gave up), newest first. */
export async function listDeadEvents(db: Executor, partnerId: string | undefined, limit: number): Promise<EventView[]> {
  const rows = await db
    .select()
    .from(events)
    .where(and(eq(events.status, "dead"), partnerId ? eq(events.partnerId, partnerId) : undefined))
    .orderBy(desc(events.createdAt))
    .limit(limit);
  return rows.map(view);
}

/** Puts a dead (or delivered) event back in the queue, same id, attempts reset. */
export async function redeliverEvent(tx: Executor, eventId: string, now: Date): Promise<EventView> {
  const [row] = await tx
    .update(events)
    .set({ status: "pending", attempts: 0, nextAttemptAt: now, lastError: null })
    .where(and(eq(events.id, eventId), sql`${events.status} in ('dead', 'delivered', 'skipped')`))
    .returning();
  if (!row) {
    const [exists] = await tx.select({ status: events.status }).from(events).where(eq(events.id, eventId));
    if (!exists) throw new DomainError("not_found", "No such event.");
    return view((await tx.select().from(events).where(eq(events.id, eventId)))[0]!);
  }
  return view(row);
}
