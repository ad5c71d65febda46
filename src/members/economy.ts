/**
 * The members' own economy outside the ledger's postings: receive codes (what a recipient hands a
 * sender) and referral codes (what a member shares). Transfers and referral bonuses themselves are
 * postings (`sql/17_transfers.sql`, `sql/18_referrals.sql`).
 */
import { and, count, eq, gte, lt, sql } from "drizzle-orm";
import type { Config } from "../config.js";
import type { Executor } from "../db/database.js";
import { members, receiveCodes, referralCodes, referrals, transfers } from "../db/schema/index.js";
import type { LedgerOutcome } from "../ledger/post.js";
import { portalReference, postInPortal, type PortalPostingRequest } from "./portal-postings.js";
import { DomainError } from "../errors.js";
import { groupedCode, humanCode, plainCode } from "../lib/codes.js";
import { sha256Hex } from "../lib/encoding.js";
import { resolveMember } from "./members.js";

export const RECEIVE_CODE_TTL_SECONDS = 15 * 60;

/** Only a hash of a receive code is stored; case, dashes and spaces do not matter. */
export const hashReceiveCode = (code: string) => sha256Hex(`receive-code:${plainCode(code)}`);

/**
 * A single-use code, valid 15 minutes, that a sender's partner (or the sender in the portal)
 * uses to send this member points. 12 symbols, 60 random bits. `createdBy` is the asking partner,
 * or null from the portal.
 */
export async function createReceiveCode(tx: Executor, memberId: string, createdBy: string | null, now: Date): Promise<{ code: string; expires_at: string }> {
  const code = humanCode(12);
  const expiresAt = new Date(now.getTime() + RECEIVE_CODE_TTL_SECONDS * 1000);
  await tx.insert(receiveCodes).values({ codeHash: await hashReceiveCode(code), memberId, createdBy, expiresAt, createdAt: now });
  return { code, expires_at: expiresAt.toISOString() };
}

/** For a partner: a receive code for one of its own members. */
export async function createReceiveCodeForPartner(tx: Executor, partnerId: string, ref: string, now: Date) {
  const { memberId } = await resolveMember(tx, partnerId, ref);
  return createReceiveCode(tx, memberId, partnerId, now);
}

/** Referral codes: 8 symbols (40 bits), `K7Q2-M9XD`; shareable, so not secret, but not guessable in bulk either. */
const REFERRAL_SYMBOLS = 8;

/**
 * The member's one stable referral code, made the first time it is asked for. Two concurrent
 * first asks agree: the primary key on the member decides, and both read the winner's code. A
 * fresh code that happens to collide with another member's is drawn again.
 */
export async function referralCodeOf(db: Executor, memberId: string, now: Date): Promise<string> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const [existing] = await db.select({ code: referralCodes.code }).from(referralCodes).where(eq(referralCodes.memberId, memberId));
    if (existing) return existing.code;
    await db.insert(referralCodes).values({ memberId, code: humanCode(REFERRAL_SYMBOLS), createdAt: now }).onConflictDoNothing();
  }
  throw new Error(`could not draw a free referral code for ${memberId}`);
}

/** For a partner: the referral code of one of its own members. */
export async function referralCodeForPartner(db: Executor, partnerId: string, ref: string, now: Date): Promise<{ code: string }> {
  const { memberId } = await resolveMember(db, partnerId, ref);
  return { code: await referralCodeOf(db, memberId, now) };
}

/** The active member a referral code names, or a refusal. */
export async function referrerFor(db: Executor, code: string): Promise<string> {
  const [row] = await db
    .select({ memberId: referralCodes.memberId })
    .from(referralCodes)
    .innerJoin(members, eq(members.id, referralCodes.memberId))
    .where(and(eq(referralCodes.code, groupedCode(code)), eq(members.status, "active")));
  if (!row) throw new DomainError("referral_code_invalid", "No active member has this referral code.");
  return row.memberId;
}

/**
 * Records that a member just enrolled was referred: the bonus and the referrer's yearly cap are
 * locked now, as prices are on postings. Paid on the referred member's first earn.
 */
export async function recordReferral(tx: Executor, config: Config, referredId: string, referrerId: string, partnerId: string, now: Date): Promise<void> {
  await tx.insert(referrals).values({
    referredId,
    referrerId,
    partnerId,
    bonusPoints: config.referralBonusPoints,
    referrerCap: config.referralMaxPerYear,
    createdAt: now,
  });
}

/** Who referred a member (a member id), or null. */
export async function referredBy(db: Executor, memberId: string): Promise<string | null> {
  const [row] = await db.select({ referrerId: referrals.referrerId }).from(referrals).where(eq(referrals.referredId, memberId));
  return row?.referrerId ?? null;
}

/** For the portal: the member's referrals, how many have paid the member a bonus, and how many wait for a first earn. */
export async function referralSummary(db: Executor, memberId: string): Promise<{ referred: number; paid: number; waiting: number }> {
  const [row] = await db
    .select({
      referred: count(),
      paid: sql<number>`count(*) filter (where ${referrals.referrerOutcome} = 'paid')`.mapWith(Number),
      waiting: sql<number>`count(*) filter (where ${referrals.qualifiedAt} is null)`.mapWith(Number),
    })
    .from(referrals)
    .where(eq(referrals.referrerId, memberId));
  return { referred: Number(row?.referred ?? 0), paid: row?.paid ?? 0, waiting: row?.waiting ?? 0 };
}

/** Points a member sent to others in the UTC day of `now` (the daily transfer limit counts these). */
export async function sentToday(db: Executor, memberId: string, now: Date): Promise<number> {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const [row] = await db
    .select({ sent: sql<string>`coalesce(sum(${transfers.points}), 0)::text` })
    .from(transfers)
    .where(and(eq(transfers.senderId, memberId), gte(transfers.createdAt, start), lt(transfers.createdAt, new Date(start.getTime() + 86_400_000))));
  return Number(row?.sent ?? 0);
}

/** One of the member's own sent transfers, or null. */
export async function sentTransfer(db: Executor, memberId: string, transferId: string): Promise<{ transfer_id: string; points: number; created_at: string } | null> {
  if (!/^trf_[0-9a-z]{26}$/.test(transferId)) return null;
  const [row] = await db
    .select({ id: transfers.id, points: transfers.points, createdAt: transfers.createdAt })
    .from(transfers)
    .where(and(eq(transfers.id, transferId), eq(transfers.senderId, memberId)));
  return row ? { transfer_id: row.id, points: row.points, created_at: row.createdAt.toISOString() } : null;
}

/** A receive code as a person may have typed it: 12 symbols once case, dashes and spaces are set aside. */
export const RECEIVE_CODE_SHAPE = /^[0-9A-HJKMNP-TV-Z]{12}$/;

/**
 * The member sends points from the portal, through the brand the portal was opened from (its
 * `transfer_out` is that brand's), exactly as `POST /v1/members/{member}/transfers` would.
 */
export async function transferInPortal(
  db: Executor,
  config: Config,
  partnerId: string,
  input: { code: string; points: number },
  request: PortalPostingRequest,
): Promise<LedgerOutcome> {
  const code = plainCode(input.code);
  return postInPortal(
    db,
    config,
    partnerId,
    { op: "transfer", input: { member: request.memberId, code_hash: await hashReceiveCode(code), points: input.points, reference: portalReference(request) } },
    { code, points: input.points },
    request,
  );
}
