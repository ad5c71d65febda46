import { and, eq, isNull, sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { memberLinks, members } from "../db/schema/index.js";
import { DomainError } from "../errors.js";
import { newId } from "../lib/ids.js";
import { tierFor, type TierStatus } from "../ledger/tiers.js";
import { emitEvent } from "../events/emit.js";
import { earnedLast12Months, settleMember } from "../ledger/queries.js";
import { recordReferral, referredBy, referrerFor } from "./economy.js";
import type { Config } from "../config.js";

export interface Balance {
  available: number;
  pending: number;
  held: number;
}

export interface MemberView {
  member_id: string;
  external_ref: string;
  tier: string;
  balance: Balance;
  /** The member whose referral code it enrolled with, or null. */
  referred_by: string | null;
}

const notFound = () => new DomainError("member_not_found", "No such member is linked to you.");

/** `mbr_…` or `ext:<external_ref>`; anything else can name no member. */
export function parseMemberRef(ref: string): { memberId: string } | { externalRef: string } {
  if (ref.startsWith("ext:")) {
    const externalRef = ref.slice(4);
    if (externalRef.length < 1 || externalRef.length > 128) throw notFound();
    return { externalRef };
  }
  if (/^mbr_[0-9a-z]{26}$/.test(ref)) return { memberId: ref };
  throw notFound();
}

/**
 * The member a partner may see: only through that partner's own active link. A member that
 * exists but is not linked to the caller is indistinguishable from one that does not exist.
 * `lock` takes the member row for update (postings and link changes serialise on it).
 */
export async function resolveMember(
  db: Executor,
  partnerId: string,
  ref: string,
  options: { lock?: boolean } = {},
): Promise<{ memberId: string; externalRef: string }> {
  const parsed = parseMemberRef(ref);
  const where =
    "memberId" in parsed
      ? and(eq(memberLinks.partnerId, partnerId), eq(memberLinks.memberId, parsed.memberId), isNull(memberLinks.unlinkedAt))
      : and(eq(memberLinks.partnerId, partnerId), eq(memberLinks.externalRef, parsed.externalRef), isNull(memberLinks.unlinkedAt));
  const query = db
    .select({ memberId: memberLinks.memberId, externalRef: memberLinks.externalRef })
    .from(memberLinks)
    .innerJoin(members, eq(members.id, memberLinks.memberId))
    .where(and(where, eq(members.status, "active")));
  const [link] = options.lock ? await query.for("update", { of: members }) : await query;
  if (!link || link.externalRef === null) throw notFound();
  return { memberId: link.memberId, externalRef: link.externalRef };
}

export async function memberBalance(db: Executor, memberId: string, now = new Date()): Promise<{ balance: Balance; tier: string; tierStatus: TierStatus }> {
  // Reads are current: due pending points are released and lapsed holds ended first.
  await settleMember(db, memberId, now, newId("txn", now.getTime()));
  const [row] = await db
    .select({ available: members.available, pending: members.pending, held: members.held })
    .from(members)
    .where(eq(members.id, memberId));
  if (!row) throw notFound();
  const tierStatus = tierFor(await earnedLast12Months(db, memberId, now));
  return { balance: { available: row.available, pending: row.pending, held: row.held }, tier: tierStatus.tier.name, tierStatus };
}

/** What `GET /v1/members/{member}` shows the caller: its own reference, never another partner's. */
export async function getMember(db: Executor, partnerId: string, ref: string, now = new Date()): Promise<MemberView> {
  const { memberId, externalRef } = await resolveMember(db, partnerId, ref);
  const { balance, tier } = await memberBalance(db, memberId, now);
  return { member_id: memberId, external_ref: externalRef, tier, balance, referred_by: await referredBy(db, memberId) };
}

/**
 * Enrols the caller's customer as a new member, or returns the member it is already linked to.
 * Two concurrent enrolments of one reference make one member: the unique index on
 * (partner, external_ref) decides, and the loser's fresh member row is removed unused.
 * A referral code is checked either way (an unknown one is refused) but applies only to a member
 * this call creates.
 */
export async function enrolMember(
  tx: Executor,
  config: Config,
  partnerId: string,
  input: { external_ref: string; referral_code?: string },
  now: Date,
): Promise<{ created: boolean; member: MemberView }> {
  const externalRef = input.external_ref;
  const referrer = input.referral_code === undefined ? null : await referrerFor(tx, input.referral_code);
  const existing = await tx
    .select({ memberId: memberLinks.memberId })
    .from(memberLinks)
    .where(and(eq(memberLinks.partnerId, partnerId), eq(memberLinks.externalRef, externalRef), isNull(memberLinks.unlinkedAt)));
  if (existing[0]) return { created: false, member: await getMember(tx, partnerId, existing[0].memberId, now) };

  const memberId = newId("mbr", now.getTime());
  const inserted = (await tx.execute(sql`
    with m as (insert into members (id, created_at, last_activity_at) values (${memberId}, ${now.toISOString()}, ${now.toISOString()}) returning id)
    insert into member_links (id, member_id, partner_id, external_ref, via, created_at)
    select ${newId("lnk", now.getTime())}, m.id, ${partnerId}, ${externalRef}, 'enrolment', ${now.toISOString()} from m
    on conflict (partner_id, external_ref) where unlinked_at is null do nothing
    returning member_id`)) as unknown as { rows: { member_id: string }[] };
  if (inserted.rows.length === 0) {
    // A concurrent enrolment of the same reference committed first: use its member.
    await tx.delete(members).where(eq(members.id, memberId));
    return { created: false, member: await getMember(tx, partnerId, `ext:${externalRef}`, now) };
  }
  if (referrer) await recordReferral(tx, config, memberId, referrer, partnerId, now);
  await emitEvent(tx, partnerId, "member.linked", { member_id: memberId, external_ref: externalRef, via: "enrolment", linked_at: now.toISOString() }, now);
  return { created: true, member: await getMember(tx, partnerId, memberId, now) };
}
