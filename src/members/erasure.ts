import { and, eq, isNull } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { linkCodes, memberLinks, members, portalTokens, redemptions, referralCodes } from "../db/schema/index.js";
import { DomainError } from "../errors.js";
import { emitEvent } from "../events/emit.js";

export interface ErasureResult {
  member_id: string;
  status: "erased";
  erased_at: string;
  links_removed: number;
}

/**
 * Erasure on request: the member becomes a pseudonym (its id). Every partner's customer
 * reference is removed, links end, codes and sessions die (its referral code too). Ledger entries, balances and every
 * settlement total are untouched: they never held personal data. The member's account numbers in
 * other programmes (transfer rewards) are removed too. Repeating it changes nothing.
 */
export async function eraseMember(tx: Executor, memberId: string, now: Date): Promise<ErasureResult> {
  const [member] = await tx.select().from(members).where(eq(members.id, memberId)).for("update");
  if (!member) throw new DomainError("member_not_found", `No member ${memberId}.`);
  if (member.status === "erased") {
    return { member_id: memberId, status: "erased", erased_at: member.erasedAt!.toISOString(), links_removed: 0 };
  }
  const activeLinks = await tx
    .update(memberLinks)
    .set({ unlinkedAt: now })
    .where(and(eq(memberLinks.memberId, memberId), isNull(memberLinks.unlinkedAt)))
    .returning({ id: memberLinks.id, partnerId: memberLinks.partnerId });
  for (const link of activeLinks) {
    await emitEvent(tx, link.partnerId, "member.unlinked", { member_id: memberId, reason: "erasure", unlinked_at: now.toISOString() }, now);
  }
  await tx.update(memberLinks).set({ externalRef: null }).where(eq(memberLinks.memberId, memberId));
  await tx.update(linkCodes).set({ usedAt: now }).where(and(eq(linkCodes.memberId, memberId), isNull(linkCodes.usedAt)));
  await tx.update(portalTokens).set({ usedAt: now }).where(and(eq(portalTokens.memberId, memberId), isNull(portalTokens.usedAt)));
  await tx.update(redemptions).set({ transferAccount: null }).where(eq(redemptions.memberId, memberId));
  // Its referral code stops naming anyone; receive codes die with the member's status (a transfer
  // checks it under its own locks, so erasure never has to lock a code a transfer may hold).
  await tx.delete(referralCodes).where(eq(referralCodes.memberId, memberId));
  await tx.update(members).set({ status: "erased", erasedAt: now }).where(eq(members.id, memberId));
  return { member_id: memberId, status: "erased", erased_at: now.toISOString(), links_removed: activeLinks.length };
}
