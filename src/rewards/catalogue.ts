/**
 * The rewards catalogue (admin-managed, partner-readable) and the redemption reads. Redemptions
 * themselves, and everything that moves points or money, are postings in the ledger's SQL
 * (`sql/16_rewards.sql`, through `postToLedger`).
 */
import { and, eq, sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { partners, rewards } from "../db/schema/index.js";
import { DomainError, validationFailed } from "../errors.js";
import { newId } from "../lib/ids.js";
import { decodeCursor, encodeCursor } from "../ledger/queries.js";
import { sqlExpr } from "../ledger/sql.js";

export type RewardKind = "voucher" | "item" | "transfer";
export type RewardStatus = "active" | "paused" | "retired";

export interface RewardInput {
  supplier_id: string;
  kind: RewardKind;
  name: string;
  description?: string;
  points: number;
  face_value?: { amount_minor: number; currency: string };
  transfer?: { program: string; units_per_unit: number };
  supplier_price: string;
  stock?: number | null;
  per_member_limit?: number | null;
  voucher_valid_days?: number;
  status?: RewardStatus;
}

export type RewardPatch = Partial<Pick<RewardInput, "name" | "description" | "points" | "supplier_price" | "stock" | "per_member_limit" | "voucher_valid_days" | "status">>;

export interface Reward {
  reward_id: string;
  supplier_id: string;
  kind: RewardKind;
  name: string;
  description: string;
  points: number;
  face_value?: { amount_minor: number; currency: string };
  transfer?: { program: string; units_per_unit: number };
  supplier_price: string;
  stock: number | null;
  per_member_limit: number | null;
  voucher_valid_days: number;
  status: RewardStatus;
  created_at: string;
  updated_at: string;
}

type Row = typeof rewards.$inferSelect;

/** numeric(20,6) as Postgres prints it, without trailing zeros: "0.500000" → "0.5". */
const trimDecimal = (value: string) => (value.includes(".") ? value.replace(/0+$/, "").replace(/\.$/, "") : value);

export function rewardView(r: Row): Reward {
  return {
    reward_id: r.id,
    supplier_id: r.supplierId,
    kind: r.kind as RewardKind,
    name: r.name,
    description: r.description,
    points: r.points,
    ...(r.faceValueMinor !== null ? { face_value: { amount_minor: r.faceValueMinor, currency: r.faceValueCurrency! } } : {}),
    ...(r.transferProgram !== null ? { transfer: { program: r.transferProgram, units_per_unit: r.transferUnitsPerUnit! } } : {}),
    supplier_price: trimDecimal(r.supplierPrice),
    stock: r.stock,
    per_member_limit: r.perMemberLimit,
    voucher_valid_days: r.voucherValidDays,
    status: r.status as RewardStatus,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

function checkShape(input: Pick<RewardInput, "kind" | "face_value" | "transfer">): void {
  if (input.kind === "transfer" && !input.transfer) throw validationFailed([{ path: "transfer", message: "is required for a transfer reward" }]);
  if (input.kind !== "transfer" && input.transfer) throw validationFailed([{ path: "transfer", message: "is only for transfer rewards" }]);
  if (input.kind !== "voucher" && input.face_value) throw validationFailed([{ path: "face_value", message: "is only for voucher rewards" }]);
}

export async function createReward(tx: Executor, input: RewardInput, now: Date): Promise<Reward> {
  checkShape(input);
  const [supplier] = await tx.select({ id: partners.id }).from(partners).where(eq(partners.id, input.supplier_id));
  if (!supplier) throw validationFailed([{ path: "supplier_id", message: "names no partner" }]);
  const [row] = await tx
    .insert(rewards)
    .values({
      id: newId("rwd", now.getTime()),
      supplierId: input.supplier_id,
      kind: input.kind,
      name: input.name,
      description: input.description ?? "",
      points: input.points,
      faceValueMinor: input.face_value?.amount_minor ?? null,
      faceValueCurrency: input.face_value?.currency ?? null,
      transferProgram: input.transfer?.program ?? null,
      transferUnitsPerUnit: input.transfer?.units_per_unit ?? null,
      supplierPrice: input.supplier_price,
      stock: input.stock ?? null,
      perMemberLimit: input.per_member_limit ?? null,
      voucherValidDays: input.voucher_valid_days ?? 90,
      status: input.status ?? "active",
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return rewardView(row!);
}

/** Existing redemptions keep the prices locked on them; only later ones see a change. */
export async function updateReward(tx: Executor, rewardId: string, patch: RewardPatch, now: Date): Promise<Reward> {
  const set: Partial<typeof rewards.$inferInsert> = { updatedAt: now };
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.description !== undefined) set.description = patch.description;
  if (patch.points !== undefined) set.points = patch.points;
  if (patch.supplier_price !== undefined) set.supplierPrice = patch.supplier_price;
  if (patch.stock !== undefined) set.stock = patch.stock;
  if (patch.per_member_limit !== undefined) set.perMemberLimit = patch.per_member_limit;
  if (patch.voucher_valid_days !== undefined) set.voucherValidDays = patch.voucher_valid_days;
  if (patch.status !== undefined) set.status = patch.status;
  const [row] = await tx.update(rewards).set(set).where(eq(rewards.id, rewardId)).returning();
  if (!row) throw new DomainError("not_found", "No such reward.");
  return rewardView(row);
}

export async function getReward(db: Executor, rewardId: string, options: { activeOnly: boolean }): Promise<Reward> {
  const [row] = await db
    .select()
    .from(rewards)
    .where(options.activeOnly ? and(eq(rewards.id, rewardId), eq(rewards.status, "active")) : eq(rewards.id, rewardId));
  if (!row) throw new DomainError("not_found", "No such reward.");
  return rewardView(row);
}

const REWARD_ID = /^rwd_[0-9a-z]{26}$/;
const REDEMPTION_ID = /^rdm_[0-9a-z]{26}$/;

/** Active rewards (what partners and members may redeem), oldest first, keyset-paginated. */
export async function listRewards(db: Executor, options: { kind?: RewardKind; limit: number; cursor?: string }) {
  const after = options.cursor ? decodeCursor(options.cursor, REWARD_ID) : undefined;
  const found = await db
    .select()
    .from(rewards)
    .where(
      and(
        eq(rewards.status, "active"),
        options.kind ? eq(rewards.kind, options.kind) : undefined,
        after ? sql`(${rewards.createdAt}, ${rewards.id}) > (${after[0]}::timestamptz, ${after[1]})` : undefined,
      ),
    )
    .orderBy(rewards.createdAt, rewards.id)
    .limit(options.limit + 1);
  const page = found.slice(0, options.limit);
  const last = page.at(-1);
  return {
    data: page.map(rewardView),
    next_cursor: found.length > options.limit && last ? encodeCursor(last.createdAt.toISOString(), last.id) : null,
  };
}

export type RedemptionStatus = "issued" | "requested" | "fulfilled" | "rejected" | "cancelled";

/** The redemptions a partner made or supplies; voucher codes in full only on those it made. */
export async function listRedemptions(
  db: Executor,
  partnerId: string,
  options: { memberId?: string; status?: RedemptionStatus; limit: number; cursor?: string },
  now: Date,
) {
  const after = options.cursor ? decodeCursor(options.cursor, REDEMPTION_ID) : undefined;
  const result = (await db.execute(sql`
    select ${sqlExpr.redemptionJson(sql`r`, sql`r.partner_id = ${partnerId}`, now)} as r, ${sqlExpr.apiTimestamp(sql`r.created_at`)} as created_at, r.id
      from redemptions r
     where (r.partner_id = ${partnerId} or r.supplier_id = ${partnerId})
       ${options.memberId ? sql`and r.member_id = ${options.memberId}` : sql``}
       ${options.status ? sql`and r.status = ${options.status}` : sql``}
       ${after ? sql`and (r.created_at, r.id) < (${after[0]}::timestamptz, ${after[1]})` : sql``}
     order by r.created_at desc, r.id desc
     limit ${options.limit + 1}`)) as unknown as { rows: { r: Record<string, unknown>; created_at: string; id: string }[] };
  const page = result.rows.slice(0, options.limit);
  const last = page.at(-1);
  // Shaped by ledger_redemption_json, as the route's schema says.
  return { data: page.map((row) => row.r as never), next_cursor: result.rows.length > options.limit && last ? encodeCursor(last.created_at, last.id) : null };
}

/** One redemption, only to the partner that made it or supplies it (else 404, as if it did not exist). */
export async function getRedemption(db: Executor, partnerId: string, redemptionId: string, now: Date) {
  const result = (await db.execute(sql`
    select ${sqlExpr.redemptionJson(sql`r`, sql`r.partner_id = ${partnerId}`, now)} as r
      from redemptions r where r.id = ${redemptionId} and (r.partner_id = ${partnerId} or r.supplier_id = ${partnerId})`)) as unknown as {
    rows: { r: Record<string, unknown> }[];
  };
  if (!result.rows[0]) throw new DomainError("not_found", "No such redemption.");
  return result.rows[0].r as never;
}
