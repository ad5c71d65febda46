import { and, asc, eq, gt, isNull, sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { memberLinks, members, partners, portalTokens } from "../db/schema/index.js";
import { randomToken } from "../lib/ids.js";
import { sha256Hex } from "../lib/encoding.js";
import { memberBalance, resolveMember, type Balance } from "./members.js";
import type { TierStatus } from "../ledger/tiers.js";

export const PORTAL_LOGIN_TTL_SECONDS = 10 * 60;
export const PORTAL_SESSION_TTL_SECONDS = 15 * 60;

const hashToken = (token: string) => sha256Hex(`portal:${token}`);

/** A one-time URL into the member's own portal, for a partner to hand to its signed-in customer. */
export async function createPortalLogin(
  tx: Executor,
  partnerId: string,
  ref: string,
  now: Date,
  baseUrl: string,
): Promise<{ url: string; expires_at: string }> {
  const { memberId } = await resolveMember(tx, partnerId, ref);
  const token = randomToken(32);
  const expiresAt = new Date(now.getTime() + PORTAL_LOGIN_TTL_SECONDS * 1000);
  await tx.insert(portalTokens).values({ tokenHash: await hashToken(token), kind: "login", memberId, partnerId, expiresAt, createdAt: now });
  return { url: `${baseUrl}/portal/login/${token}`, expires_at: expiresAt.toISOString() };
}

/** Can this login token still be used? (The page asks before spending it.) */
export async function loginIsUsable(db: Executor, token: string, now: Date): Promise<boolean> {
  const [row] = await db
    .select({ memberId: portalTokens.memberId })
    .from(portalTokens)
    .where(
      and(eq(portalTokens.tokenHash, await hashToken(token)), eq(portalTokens.kind, "login"), isNull(portalTokens.usedAt), gt(portalTokens.expiresAt, now)),
    );
  return Boolean(row);
}

/**
 * Spends a one-time login URL (a conditional update: it works once) and starts a member
 * session. Returns null for an unknown, used or expired URL.
 */
export async function startPortalSession(
  tx: Executor,
  loginToken: string,
  now: Date,
): Promise<{ sessionToken: string; expiresAt: Date; memberId: string } | null> {
  const spent = await tx
    .update(portalTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(portalTokens.tokenHash, await hashToken(loginToken)),
        eq(portalTokens.kind, "login"),
        isNull(portalTokens.usedAt),
        gt(portalTokens.expiresAt, now),
      ),
    )
    .returning({ memberId: portalTokens.memberId });
  const memberId = spent[0]?.memberId;
  if (!memberId) return null;
  const sessionToken = randomToken(32);
  const expiresAt = new Date(now.getTime() + PORTAL_SESSION_TTL_SECONDS * 1000);
  await tx.insert(portalTokens).values({ tokenHash: await hashToken(sessionToken), kind: "session", memberId, expiresAt, createdAt: now });
  return { sessionToken, expiresAt, memberId };
}

/** The member behind a live session cookie, or null. */
export async function sessionMember(db: Executor, sessionToken: string, now: Date): Promise<string | null> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(sessionToken)) return null;
  const [row] = await db
    .select({ memberId: portalTokens.memberId })
    .from(portalTokens)
    .innerJoin(members, eq(members.id, portalTokens.memberId))
    .where(
      and(
        eq(portalTokens.tokenHash, await hashToken(sessionToken)),
        eq(portalTokens.kind, "session"),
        isNull(portalTokens.usedAt),
        gt(portalTokens.expiresAt, now),
        eq(members.status, "active"),
      ),
    );
  return row?.memberId ?? null;
}

export async function endPortalSession(db: Executor, sessionToken: string, now: Date): Promise<void> {
  await db
    .update(portalTokens)
    .set({ usedAt: now })
    .where(and(eq(portalTokens.tokenHash, await hashToken(sessionToken)), eq(portalTokens.kind, "session")));
}

/** A CSRF token bound to the session, derived rather than stored. */
export const csrfFor = (sessionToken: string) => sha256Hex(`portal-csrf:${sessionToken}`);

export interface LinkedBrand {
  partner_id: string;
  name: string;
  category: string;
  linked_at: string;
}

export interface PortalView {
  member_id: string;
  balance: Balance;
  tier: TierStatus;
  brands: LinkedBrand[];
}

/** What the member sees of itself: balance, tier, and the brands it is linked to (not their references). */
export async function portalView(db: Executor, memberId: string, now: Date): Promise<PortalView> {
  const { balance, tierStatus } = await memberBalance(db, memberId, now);
  const brands = await db
    .select({ partner_id: partners.id, name: partners.name, category: partners.category, linkedAt: memberLinks.createdAt })
    .from(memberLinks)
    .innerJoin(partners, eq(partners.id, memberLinks.partnerId))
    .where(and(eq(memberLinks.memberId, memberId), isNull(memberLinks.unlinkedAt)))
    .orderBy(asc(memberLinks.createdAt));
  return {
    member_id: memberId,
    balance,
    tier: tierStatus,
    brands: brands.map((b) => ({ partner_id: b.partner_id, name: b.name, category: b.category, linked_at: b.linkedAt.toISOString() })),
  };
}

/** Forgets spent and expired portal tokens after a day (they are single-use and short-lived). */
export async function prunePortalTokens(db: Executor, now: Date): Promise<number> {
  const r = (await db.execute(
    sql`delete from portal_tokens where expires_at < ${new Date(now.getTime() - 86_400_000).toISOString()}::timestamptz`,
  )) as unknown as { rowCount?: number; affectedRows?: number };
  return r.rowCount ?? r.affectedRows ?? 0;
}
