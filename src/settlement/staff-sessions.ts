import { and, eq, gt, isNull } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { staffSessions } from "../db/schema/index.js";
import type { StaffRole } from "../auth/caller.js";
import { randomToken } from "../lib/ids.js";
import { sha256Hex } from "../lib/encoding.js";

export const STAFF_LOGIN_TTL_SECONDS = 5 * 60;
export const STAFF_SESSION_TTL_SECONDS = 30 * 60;
const hash = (token: string) => sha256Hex(`staff:${token}`);
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,100}$/;

/**
 * A one-time sign-in link for a staff web page, asked for by a request signed with the staff
 * member's own key (`npm run finance:login`), so no key is ever pasted into a browser.
 */
export async function createStaffLogin(db: Executor, sub: string, role: StaffRole, now: Date, baseUrl: string) {
  const token = randomToken(32);
  const expiresAt = new Date(now.getTime() + STAFF_LOGIN_TTL_SECONDS * 1000);
  await db.insert(staffSessions).values({ tokenHash: await hash(token), kind: "login", sub, role, expiresAt, createdAt: now });
  return { url: `${baseUrl}/finance/login/${token}`, expires_at: expiresAt.toISOString() };
}

export async function staffLoginUsable(db: Executor, token: string, now: Date): Promise<boolean> {
  if (!TOKEN_PATTERN.test(token)) return false;
  const [row] = await db
    .select({ sub: staffSessions.sub })
    .from(staffSessions)
    .where(and(eq(staffSessions.tokenHash, await hash(token)), eq(staffSessions.kind, "login"), isNull(staffSessions.usedAt), gt(staffSessions.expiresAt, now)));
  return Boolean(row);
}

/** Spends a sign-in link (once) and starts a session with the link's role. */
export async function startStaffSession(tx: Executor, token: string, now: Date) {
  if (!TOKEN_PATTERN.test(token)) return null;
  const [spent] = await tx
    .update(staffSessions)
    .set({ usedAt: now })
    .where(and(eq(staffSessions.tokenHash, await hash(token)), eq(staffSessions.kind, "login"), isNull(staffSessions.usedAt), gt(staffSessions.expiresAt, now)))
    .returning({ sub: staffSessions.sub, role: staffSessions.role });
  if (!spent) return null;
  const sessionToken = randomToken(32);
  await tx.insert(staffSessions).values({
    tokenHash: await hash(sessionToken),
    kind: "session",
    sub: spent.sub,
    role: spent.role,
    expiresAt: new Date(now.getTime() + STAFF_SESSION_TTL_SECONDS * 1000),
    createdAt: now,
  });
  return { sessionToken, sub: spent.sub, role: spent.role };
}

export async function staffSession(db: Executor, token: string, now: Date): Promise<{ sub: string; role: StaffRole } | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const [row] = await db
    .select({ sub: staffSessions.sub, role: staffSessions.role })
    .from(staffSessions)
    .where(and(eq(staffSessions.tokenHash, await hash(token)), eq(staffSessions.kind, "session"), isNull(staffSessions.usedAt), gt(staffSessions.expiresAt, now)));
  return row ?? null;
}

export async function endStaffSession(db: Executor, token: string, now: Date) {
  await db.update(staffSessions).set({ usedAt: now }).where(eq(staffSessions.tokenHash, await hash(token)));
}

export const staffCsrf = (sessionToken: string) => sha256Hex(`staff-csrf:${sessionToken}`);
