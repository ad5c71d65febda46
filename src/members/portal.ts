import { and, asc, eq, gt, isNull } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { memberLinks, members, partners, portalTokens } from "../db/schema/index.js";
import { webSessions } from "../auth/web-sessions.js";
import { memberBalance, resolveMember, type Balance } from "./members.js";
import type { TierStatus } from "../ledger/tiers.js";

export const PORTAL_LOGIN_TTL_SECONDS = 10 * 60;
export const PORTAL_SESSION_TTL_SECONDS = 15 * 60;

/** The member portal's sign-in: the shared web-session flow over `portal_tokens`. */
const sessions = webSessions<{ memberId: string; partnerId: string | null }>({
  name: "portal",
  loginTtlSeconds: PORTAL_LOGIN_TTL_SECONDS,
  sessionTtlSeconds: PORTAL_SESSION_TTL_SECONDS,
  store: {
    async insert(db, row) {
      await db.insert(portalTokens).values({
        tokenHash: row.tokenHash,
        kind: row.kind,
        memberId: row.subject.memberId,
        // The partner that handed out the link; its session keeps it (the portal redeems rewards through it).
        partnerId: row.subject.partnerId,
        expiresAt: row.expiresAt,
        createdAt: row.now,
      });
    },
    async spend(db, tokenHash, kind, now) {
      const [spent] = await db
        .update(portalTokens)
        .set({ usedAt: now })
        .where(and(eq(portalTokens.tokenHash, tokenHash), eq(portalTokens.kind, kind), isNull(portalTokens.usedAt), gt(portalTokens.expiresAt, now)))
        .returning({ memberId: portalTokens.memberId, partnerId: portalTokens.partnerId });
      return spent ?? null;
    },
    async find(db, tokenHash, kind, now) {
      // Only an active member is let in: erasure ends every session at once.
      const [row] = await db
        .select({ memberId: portalTokens.memberId, partnerId: portalTokens.partnerId })
        .from(portalTokens)
        .innerJoin(members, eq(members.id, portalTokens.memberId))
        .where(
          and(
            eq(portalTokens.tokenHash, tokenHash),
            eq(portalTokens.kind, kind),
            isNull(portalTokens.usedAt),
            gt(portalTokens.expiresAt, now),
            eq(members.status, "active"),
          ),
        );
      return row ?? null;
    },
  },
});

/** A one-time URL into the member's own portal, for a partner to hand to its signed-in customer. */
export async function createPortalLogin(
  tx: Executor,
  partnerId: string,
  ref: string,
  now: Date,
  baseUrl: string,
): Promise<{ url: string; expires_at: string }> {
  const { memberId } = await resolveMember(tx, partnerId, ref);
  const { token, expiresAt } = await sessions.createLogin(tx, { memberId, partnerId }, now);
  return { url: `${baseUrl}/portal/login/${token}`, expires_at: expiresAt.toISOString() };
}

/** Can this login token still be used? (The page asks before spending it.) */
export const loginIsUsable = (db: Executor, token: string, now: Date) => sessions.loginUsable(db, token, now);

/**
 * Spends a one-time login URL (a conditional update: it works once) and starts a member
 * session. Returns null for an unknown, used or expired URL.
 */
export async function startPortalSession(tx: Executor, loginToken: string, now: Date): Promise<{ sessionToken: string; expiresAt: Date; memberId: string } | null> {
  const started = await sessions.start(tx, loginToken, now);
  return started && { sessionToken: started.sessionToken, expiresAt: started.expiresAt, memberId: started.subject.memberId };
}

/** The member behind a live session cookie, or null. */
export async function sessionMember(db: Executor, sessionToken: string, now: Date): Promise<string | null> {
  return (await sessions.current(db, sessionToken, now))?.memberId ?? null;
}

/**
 * The member behind a live session cookie and the partner whose link opened it (null for a
 * session started before sessions recorded it), or null.
 */
export const sessionSubject = (db: Executor, sessionToken: string, now: Date) => sessions.current(db, sessionToken, now);

export const endPortalSession = (db: Executor, sessionToken: string, now: Date) => sessions.end(db, sessionToken, now);

/** A CSRF token bound to the session, derived rather than stored. */
export const csrfFor = (sessionToken: string) => sessions.csrf(sessionToken);

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
