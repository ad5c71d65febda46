/**
 * Rewards in the member portal: the catalogue as one member sees it (what is left for them under
 * each per-member limit), their own redemptions with voucher codes in full, and redeeming or
 * cancelling through the same ledger posting as the partner API (`postInPortal`).
 */
import { and, eq, inArray, notInArray, sql } from "drizzle-orm";
import type { Config } from "../config.js";
import type { Executor } from "../db/database.js";
import { memberLinks, partners, redemptions } from "../db/schema/index.js";
import type { LedgerOutcome } from "../ledger/post.js";
import { portalReference, postInPortal, type PortalPostingRequest } from "../members/portal-postings.js";
import { sqlExpr } from "../ledger/sql.js";
import { DomainError } from "../errors.js";
import { getReward, listRewards, type Reward } from "./catalogue.js";

/** A reward as the member sees it: with its supplier's name and the units the member has taken. */
export interface PortalReward extends Reward {
  supplier_name: string;
  /** Units of it this member holds that count against `per_member_limit` (not cancelled or rejected). */
  taken: number;
}

export const REWARD_ID_PATTERN = /^rwd_[0-9a-z]{26}$/;
export const REDEMPTION_ID_PATTERN = /^rdm_[0-9a-z]{26}$/;
/** The portal shows at most this many rewards (the catalogue is curated by the operator). */
const CATALOGUE_MAX = 600;

async function supplierNames(db: Executor, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.select({ id: partners.id, name: partners.name }).from(partners).where(inArray(partners.id, [...new Set(ids)]));
  return new Map(rows.map((r) => [r.id, r.name]));
}

async function takenByReward(db: Executor, memberId: string, rewardIds?: string[]): Promise<Map<string, number>> {
  const rows = await db
    .select({ rewardId: redemptions.rewardId, taken: sql<string>`sum(${redemptions.quantity})` })
    .from(redemptions)
    .where(
      and(
        eq(redemptions.memberId, memberId),
        notInArray(redemptions.status, ["cancelled", "rejected"]),
        rewardIds ? inArray(redemptions.rewardId, rewardIds) : undefined,
      ),
    )
    .groupBy(redemptions.rewardId);
  return new Map(rows.map((r) => [r.rewardId, Number(r.taken)]));
}

/** The active catalogue (oldest first, as partners list it), for one member. */
export async function portalCatalogue(db: Executor, memberId: string): Promise<PortalReward[]> {
  const all: Reward[] = [];
  let cursor: string | undefined;
  do {
    const page = await listRewards(db, { limit: 200, cursor });
    all.push(...page.data);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && all.length < CATALOGUE_MAX);
  const names = await supplierNames(db, all.map((r) => r.supplier_id));
  const taken = await takenByReward(db, memberId);
  return all.slice(0, CATALOGUE_MAX).map((r) => ({ ...r, supplier_name: names.get(r.supplier_id) ?? r.supplier_id, taken: taken.get(r.reward_id) ?? 0 }));
}

/** One reward for one member, or null (unknown; or paused or retired, unless `activeOnly` is false). */
export async function portalReward(db: Executor, memberId: string, rewardId: string, activeOnly = true): Promise<PortalReward | null> {
  if (!REWARD_ID_PATTERN.test(rewardId)) return null;
  let reward: Reward;
  try {
    reward = await getReward(db, rewardId, { activeOnly });
  } catch (err) {
    if (err instanceof DomainError && err.code === "not_found") return null;
    throw err;
  }
  const names = await supplierNames(db, [reward.supplier_id]);
  const taken = await takenByReward(db, memberId, [reward.reward_id]);
  return { ...reward, supplier_name: names.get(reward.supplier_id) ?? reward.supplier_id, taken: taken.get(reward.reward_id) ?? 0 };
}

/** How many units this member may still take of a reward, stock and limit considered (affordability aside). */
export function unitsLeftFor(reward: PortalReward): number {
  let max = 10;
  if (reward.stock !== null) max = Math.min(max, reward.stock);
  if (reward.per_member_limit !== null) max = Math.min(max, reward.per_member_limit - reward.taken);
  return Math.max(0, max);
}

export type VoucherStatus = "issued" | "used" | "cancelled" | "expired";
import type { RedemptionStatus } from "./catalogue.js";
export type { RedemptionStatus };

/** A member's redemption as `ledger_redemption_json` shapes it (codes in full), with names to show. */
export interface MemberRedemption {
  redemption_id: string;
  reward_id: string;
  supplier_id: string;
  partner_id: string;
  member_id: string;
  kind: "voucher" | "item" | "transfer";
  quantity: number;
  points: number;
  status: RedemptionStatus;
  created_at: string;
  vouchers?: { code: string; expires_at: string; status: VoucherStatus }[];
  transfer_account?: string;
  fulfilment_reference?: string;
  reject_reason?: string;
  reward_name: string;
  supplier_name: string;
  maker_name: string;
  face_value: { amount_minor: number; currency: string } | null;
  transfer_program: string | null;
  transfer_units_per_unit: number | null;
}

/** Cancellable as `ledger_redemption_cancel` judges it: nothing used, fulfilled or lapsed. */
export function isCancellable(r: Pick<MemberRedemption, "status" | "vouchers">): boolean {
  return (r.status === "issued" || r.status === "requested") && (r.vouchers ?? []).every((v) => v.status === "issued");
}

async function memberRedemptionRows(db: Executor, memberId: string, now: Date, options: { id?: string; limit: number }): Promise<MemberRedemption[]> {
  const result = (await db.execute(sql`
    select ${sqlExpr.redemptionJson(sql`r`, true, now)} as r,
           w.name as reward_name, s.name as supplier_name, mk.name as maker_name,
           w.face_value_minor, w.face_value_currency, w.transfer_program, w.transfer_units_per_unit
      from redemptions r
      left join rewards w on w.id = r.reward_id
      left join partners s on s.id = r.supplier_id
      left join partners mk on mk.id = r.partner_id
     where r.member_id = ${memberId} ${options.id ? sql`and r.id = ${options.id}` : sql``}
     order by r.created_at desc, r.id desc
     limit ${options.limit}`)) as unknown as {
    rows: {
      r: Omit<MemberRedemption, "reward_name" | "supplier_name" | "maker_name" | "face_value" | "transfer_program" | "transfer_units_per_unit">;
      reward_name: string | null;
      supplier_name: string | null;
      maker_name: string | null;
      face_value_minor: string | number | null;
      face_value_currency: string | null;
      transfer_program: string | null;
      transfer_units_per_unit: string | number | null;
    }[];
  };
  return result.rows.map((row) => ({
    ...row.r,
    reward_name: row.reward_name ?? "Reward",
    supplier_name: row.supplier_name ?? row.r.supplier_id,
    maker_name: row.maker_name ?? row.r.partner_id,
    face_value: row.face_value_minor !== null && row.face_value_currency ? { amount_minor: Number(row.face_value_minor), currency: row.face_value_currency } : null,
    transfer_program: row.transfer_program,
    transfer_units_per_unit: row.transfer_units_per_unit === null ? null : Number(row.transfer_units_per_unit),
  }));
}

/** The member's redemptions, newest first, voucher codes in full (the member's own). */
export const memberRedemptions = (db: Executor, memberId: string, now: Date, limit = 50) => memberRedemptionRows(db, memberId, now, { limit });

/** One of the member's redemptions, or null when it is not theirs (as if it did not exist). */
export async function memberRedemption(db: Executor, memberId: string, redemptionId: string, now: Date): Promise<MemberRedemption | null> {
  if (!REDEMPTION_ID_PATTERN.test(redemptionId)) return null;
  return (await memberRedemptionRows(db, memberId, now, { id: redemptionId, limit: 1 }))[0] ?? null;
}

/** The partner a portal session redeems through: who it is, and whether it can act for this member now. */
export interface PortalMaker {
  partner_id: string;
  name: string;
  /** The partner is active and the member is (still) linked to it. */
  usable: boolean;
  reason?: "unlinked" | "suspended";
}

export async function portalMaker(db: Executor, partnerId: string, memberId: string): Promise<PortalMaker | null> {
  const [row] = await db
    .select({ name: partners.name, status: partners.status, linkedMember: memberLinks.memberId })
    .from(partners)
    .leftJoin(memberLinks, and(eq(memberLinks.partnerId, partners.id), eq(memberLinks.memberId, memberId), sql`${memberLinks.unlinkedAt} is null`))
    .where(eq(partners.id, partnerId));
  if (!row) return null;
  const reason = row.status !== "active" ? "suspended" : row.linkedMember === null ? "unlinked" : undefined;
  return { partner_id: partnerId, name: row.name, usable: reason === undefined, ...(reason ? { reason } : {}) };
}

export interface PortalRedeemInput {
  reward_id: string;
  quantity: number;
  transfer_account?: string;
}

/** Redeems through the session's partner (the maker), exactly as `POST /v1/redemptions` would. */
export async function redeemInPortal(db: Executor, config: Config, makerId: string, input: PortalRedeemInput, request: PortalPostingRequest): Promise<LedgerOutcome> {
  const body = { reward_id: input.reward_id, quantity: input.quantity, ...(input.transfer_account !== undefined ? { transfer_account: input.transfer_account } : {}) };
  return postInPortal(db, config, makerId, { op: "redeem", input: { member: request.memberId, ...body, reference: portalReference(request) } }, body, request);
}

/** Cancels one of the member's redemptions, as its maker (the redemption's own partner) would. */
export async function cancelInPortal(db: Executor, config: Config, redemption: Pick<MemberRedemption, "redemption_id" | "partner_id">, request: PortalPostingRequest): Promise<LedgerOutcome> {
  const input = { redemption_id: redemption.redemption_id };
  return postInPortal(db, config, redemption.partner_id, { op: "redemption_cancel", input }, input, request);
}
