import { eq } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { partners, promotions } from "../db/schema/index.js";
import { DomainError, validationFailed } from "../errors.js";
import { newId } from "../lib/ids.js";

export interface PromotionInput {
  partner_id: string;
  name: string;
  category: string;
  multiplier?: string;
  fixed_points?: number;
  starts_at: string;
  ends_at: string;
  budget_points: number;
  funded_by: "partner" | "operator" | "shared";
  /** With funded_by "shared": the operator's share of each bonus point, e.g. "0.5". */
  operator_share?: string;
}

export interface PromotionView extends Omit<PromotionInput, "operator_share"> {
  promotion_id: string;
  operator_share: string;
  remaining_points: number;
  created_at: string;
}

function view(row: typeof promotions.$inferSelect): PromotionView {
  const share = Number(row.operatorShare);
  return {
    promotion_id: row.id,
    partner_id: row.partnerId,
    name: row.name,
    category: row.category,
    ...(row.multiplier !== null ? { multiplier: row.multiplier.replace(/\.?0+$/, "") } : {}),
    ...(row.fixedPoints !== null ? { fixed_points: row.fixedPoints } : {}),
    starts_at: row.startsAt.toISOString(),
    ends_at: row.endsAt.toISOString(),
    budget_points: row.budgetPoints,
    remaining_points: row.remainingPoints,
    funded_by: share === 0 ? "partner" : share === 1 ? "operator" : "shared",
    operator_share: row.operatorShare.replace(/\.?0+$/, "") || "0",
    created_at: row.createdAt.toISOString(),
  };
}

/** Creates a promotion: a multiplier or a fixed bonus, for a time box, within a points budget. */
export async function createPromotion(tx: Executor, input: PromotionInput, now: Date): Promise<PromotionView> {
  if ((input.multiplier === undefined) === (input.fixed_points === undefined))
    throw validationFailed([{ path: "multiplier", message: "give exactly one of multiplier and fixed_points" }]);
  if (Date.parse(input.ends_at) <= Date.parse(input.starts_at)) throw validationFailed([{ path: "ends_at", message: "must be after starts_at" }]);
  if (input.funded_by === "shared" && input.operator_share === undefined)
    throw validationFailed([{ path: "operator_share", message: "is required when funded_by is shared" }]);
  if (input.funded_by !== "shared" && input.operator_share !== undefined)
    throw validationFailed([{ path: "operator_share", message: "is only for funded_by shared" }]);
  const share = input.funded_by === "operator" ? "1" : input.funded_by === "partner" ? "0" : input.operator_share!;
  const [partner] = await tx.select({ id: partners.id }).from(partners).where(eq(partners.id, input.partner_id));
  if (!partner) throw new DomainError("not_found", `No partner ${input.partner_id}.`);
  const [row] = await tx
    .insert(promotions)
    .values({
      id: newId("promo", now.getTime()),
      partnerId: input.partner_id,
      name: input.name,
      category: input.category,
      multiplier: input.multiplier ?? null,
      fixedPoints: input.fixed_points ?? null,
      startsAt: new Date(input.starts_at),
      endsAt: new Date(input.ends_at),
      budgetPoints: input.budget_points,
      remainingPoints: input.budget_points,
      operatorShare: share,
      createdAt: now,
    })
    .returning();
  return view(row!);
}

export async function getPromotion(db: Executor, id: string): Promise<PromotionView> {
  const [row] = await db.select().from(promotions).where(eq(promotions.id, id));
  if (!row) throw new DomainError("not_found", "No such promotion.");
  return view(row);
}
