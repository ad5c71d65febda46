import { and, eq, isNull, sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { UNIQUE_VIOLATION, sqlState } from "../db/errors.js";
import { linkCodes, memberLinks, members } from "../db/schema/index.js";
import { DomainError } from "../errors.js";
import { newId } from "../lib/ids.js";
import { sha256Hex } from "../lib/encoding.js";
import { resolveMember } from "./members.js";
import { humanCode, plainCode } from "../lib/codes.js";
import { emitEvent } from "../events/emit.js";

export const LINK_CODE_TTL_SECONDS = 15 * 60;
/** Only the hash is stored; case, dashes and spaces do not matter (plainCode). */
const hashCode = (code: string) => sha256Hex(`link-code:${plainCode(code)}`);

/**
 * A single-use code, valid 15 minutes, that lets another brand link its customer to this
 * member. Only its hash is stored. `createdBy` is the asking partner, or null from the portal.
 */
export async function createLinkCode(tx: Executor, memberId: string, createdBy: string | null, now: Date): Promise<{ code: string; expires_at: string }> {
  const code = humanCode(12); // 60 bits, XXXX-XXXX-XXXX so a member can read it out
  const expiresAt = new Date(now.getTime() + LINK_CODE_TTL_SECONDS * 1000);
  await tx.insert(linkCodes).values({ codeHash: await hashCode(code), memberId, createdBy, expiresAt, createdAt: now });
  await tx.update(members).set({ lastActivityAt: now }).where(eq(members.id, memberId));
  return { code, expires_at: expiresAt.toISOString() };
}

/** For a partner: a link code for one of its own members. */
export async function createLinkCodeForPartner(tx: Executor, partnerId: string, ref: string, now: Date) {
  const { memberId } = await resolveMember(tx, partnerId, ref);
  return createLinkCode(tx, memberId, partnerId, now);
}

/**
 * Links the caller's customer to the member a code names. The code is spent by a conditional
 * update, so of two partners redeeming one code at once exactly one succeeds. Refusals undo
 * the spend (the caller's transaction rolls back to before it).
 */
export async function redeemLinkCode(
  tx: Executor,
  partnerId: string,
  code: string,
  externalRef: string,
  now: Date,
): Promise<{ member_id: string; external_ref: string }> {
  const spent = await tx
    .update(linkCodes)
    .set({ usedAt: now, usedBy: partnerId })
    .where(and(eq(linkCodes.codeHash, await hashCode(code)), isNull(linkCodes.usedAt), sql`${linkCodes.expiresAt} > ${now.toISOString()}`))
    .returning({ memberId: linkCodes.memberId });
  const memberId = spent[0]?.memberId;
  if (!memberId) throw new DomainError("link_code_invalid", "The link code is unknown, expired or already used.");
  const [member] = await tx.select({ status: members.status }).from(members).where(eq(members.id, memberId)).for("update");
  if (member?.status !== "active") throw new DomainError("link_code_invalid", "The link code is unknown, expired or already used.");

  const [mine] = await tx
    .select({ externalRef: memberLinks.externalRef })
    .from(memberLinks)
    .where(and(eq(memberLinks.memberId, memberId), eq(memberLinks.partnerId, partnerId), isNull(memberLinks.unlinkedAt)));
  if (mine) throw new DomainError("already_linked", "One of your customers is already linked to this member.");
  const [taken] = await tx
    .select({ memberId: memberLinks.memberId })
    .from(memberLinks)
    .where(and(eq(memberLinks.partnerId, partnerId), eq(memberLinks.externalRef, externalRef), isNull(memberLinks.unlinkedAt)));
  if (taken) throw new DomainError("external_ref_taken", "This external_ref is already linked to another member.");

  try {
    // A savepoint: a concurrent link that slipped past the checks above fails here on the unique indexes.
    await tx.transaction(async (sp) => {
      await sp.insert(memberLinks).values({ id: newId("lnk", now.getTime()), memberId, partnerId, externalRef, via: "link_code", createdAt: now });
    });
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) throw new DomainError("external_ref_taken", "This customer or member was linked concurrently; look it up again.");
    throw err;
  }
  await tx.update(members).set({ lastActivityAt: now }).where(eq(members.id, memberId));
  await emitEvent(tx, partnerId, "member.linked", { member_id: memberId, external_ref: externalRef, via: "link_code", linked_at: now.toISOString() }, now);
  return { member_id: memberId, external_ref: externalRef };
}

/** Removes one partner's link. The member, its balance and its history stay. */
export async function unlinkMember(tx: Executor, partnerId: string, memberId: string, now: Date): Promise<void> {
  const done = await tx
    .update(memberLinks)
    .set({ unlinkedAt: now })
    .where(and(eq(memberLinks.memberId, memberId), eq(memberLinks.partnerId, partnerId), isNull(memberLinks.unlinkedAt)))
    .returning({ id: memberLinks.id });
  if (done.length === 0) throw new DomainError("member_not_found", "No such member is linked to you.");
  await emitEvent(tx, partnerId, "member.unlinked", { member_id: memberId, unlinked_at: now.toISOString() }, now);
}

/** For a partner: unlink its own customer. */
export async function unlinkForPartner(tx: Executor, partnerId: string, ref: string, now: Date): Promise<void> {
  const { memberId } = await resolveMember(tx, partnerId, ref, { lock: true });
  await unlinkMember(tx, partnerId, memberId, now);
}
