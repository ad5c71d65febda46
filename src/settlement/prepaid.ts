import { eq, sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { partners, prepaidPurchases } from "../db/schema/index.js";
import { DomainError } from "../errors.js";
import { newId } from "../lib/ids.js";

export interface PrepaidBlock {
  purchase_id: string;
  partner_id: string;
  points: number;
  reference: string;
  prepaid_points: number;
  created_at: string;
}

/** A prepaid partner buys a block of points; earns draw it down. Only prepaid partners can. */
export async function buyPrepaidBlock(tx: Executor, partnerId: string, points: number, reference: string, by: string, now: Date): Promise<PrepaidBlock> {
  const [updated] = await tx
    .update(partners)
    .set({ prepaidPoints: sql`${partners.prepaidPoints} + ${BigInt(points)}` })
    .where(sql`${partners.id} = ${partnerId} and ${partners.prepaidPoints} is not null`)
    .returning({ balance: partners.prepaidPoints });
  if (!updated) {
    const [exists] = await tx.select({ id: partners.id }).from(partners).where(eq(partners.id, partnerId));
    if (!exists) throw new DomainError("not_found", `No partner ${partnerId}.`);
    // The partner's state, not the input, refuses this: a business refusal, stored under the key.
    throw new DomainError("not_prepaid", `${partnerId} is postpaid; set settlement.prepaid_points to make it prepaid.`);
  }
  const id = newId("pp", now.getTime());
  await tx.insert(prepaidPurchases).values({ id, partnerId, points, reference, createdBy: by, createdAt: now });
  return { purchase_id: id, partner_id: partnerId, points, reference, prepaid_points: Number(updated.balance), created_at: now.toISOString() };
}
