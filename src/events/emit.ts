import type { Executor } from "../db/database.js";
import { events } from "../db/schema/index.js";

export type EventType =
  | "member.linked"
  | "member.unlinked"
  | "points.released"
  | "points.expired"
  | "hold.expired"
  | "statement.finalized"
  | "ping";

/** Writes an event to the outbox on `tx`: it commits, or disappears, with the change it reports. Returns its id. */
export async function emitEvent(tx: Executor, partnerId: string, type: EventType, data: Record<string, unknown>, now: Date): Promise<string> {
  const id = `evt_${crypto.randomUUID().replace(/-/g, "")}`;
  await tx.insert(events).values({
    id,
    partnerId,
    type,
    data,
    createdAt: now,
    nextAttemptAt: now,
  });
  return id;
}
